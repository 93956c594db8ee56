/* The C side of the loop-overhead calibration: empty bodies through the C API, batch and per-iteration forms.
 * Compare with loop_native.cc's native C++ loop in the same run (`build/bench/pab-loop-overhead`). */
#include <stddef.h>

#include "pab.h"

static void c_batch_empty(pab_state *st, void *user) {
    uint64_t n;
    while (pab_keep_running_batch(st, &n))
        for (uint64_t i = 0; i < n; i++) __asm__ volatile("" ::: "memory");
}

static void c_per_iteration_empty(pab_state *st, void *user) {
    while (pab_keep_running(st)) __asm__ volatile("" ::: "memory");
}

void pab_calibrate_register_c(void) {
    pab_register("c_api_batch_empty", c_batch_empty, NULL);
    pab_register("c_api_per_iteration_empty", c_per_iteration_empty, NULL);
}
