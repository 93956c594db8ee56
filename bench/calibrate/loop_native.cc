// The native side of the loop-overhead calibration: libbenchmark's own `for (auto _ : state)` on an empty body,
// registered beside the C API's loops so both are timed in one run.
#include <benchmark/benchmark.h>

extern "C" void pab_calibrate_register_c(void);

static void native_cpp_empty(benchmark::State &state) {
    for (auto _ : state) benchmark::ClobberMemory();
}
BENCHMARK(native_cpp_empty);

int main(int argc, char **argv) {
    pab_calibrate_register_c();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
