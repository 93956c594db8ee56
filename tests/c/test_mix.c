/* Tests of the object size mixes: a million draws of `python` match the table of docs/cpython-facts.md within 1 point per
 * band; `uniform` covers 16..512 evenly; every draw is a multiple of 16 inside its band; the mean is right. */
#include "check.h"
#include "pab_pyobj.h"

struct band { size_t lo, hi; double pct; };

static const struct band python[] = { /* docs/cpython-facts.md "Size mix of requests" */
    {16, 16, 7}, {32, 32, 31}, {48, 48, 20}, {64, 64, 32}, {80, 128, 3}, {144, 256, 3}, {272, 512, 0.5},
    {513, 4096, 3}, {0, 0, 0},
};

static void check_python(void) {
    const pab_mix *m = pab_mix_find("python");
    CHECK(m != NULL, "the python mix exists");
    if (!m) return;
    enum { N = 1000000 };
    size_t count[16] = {0}, outside = 0, odd = 0;
    double sum = 0;
    pab_rng r = {42};
    for (int i = 0; i < N; i++) {
        size_t n = pab_mix_draw(m, &r);
        sum += (double)n;
        odd += n % 16 != 0;
        int b = 0;
        while (python[b].hi && !(n >= python[b].lo && n <= python[b].hi)) b++;
        if (python[b].hi) count[b]++;
        else outside++;
    }
    for (int b = 0; python[b].hi; b++) {
        double got = 100.0 * (double)count[b] / N;
        CHECK(got > python[b].pct - 1 && got < python[b].pct + 1, "%zu..%zu B: %.2f%% vs %.1f%%", python[b].lo,
              python[b].hi, got, python[b].pct);
    }
    CHECK(outside == 0 && odd == 0, "%zu draws outside every band, %zu not a multiple of 16", outside, odd);
    double mean = sum / N, model = pab_mix_mean(m);
    CHECK(mean > 0.98 * model && mean < 1.02 * model, "mean %.1f vs pab_mix_mean %.1f", mean, model);
    printf("python mix: mean request %.1f B\n", mean);
}

static void check_uniform(void) {
    const pab_mix *m = pab_mix_find("uniform");
    CHECK(m != NULL, "the uniform mix exists");
    if (!m) return;
    enum { N = 320000 };
    size_t count[33] = {0}, bad = 0;
    pab_rng r = {7};
    for (int i = 0; i < N; i++) {
        size_t n = pab_mix_draw(m, &r);
        if (n < 16 || n > 512 || n % 16) bad++;
        else count[n / 16]++;
    }
    CHECK(bad == 0, "%zu draws outside 16..512", bad);
    for (int c = 1; c <= 32; c++)
        CHECK(count[c] > 9000 && count[c] < 11000, "%d B drawn %zu times of 10000 expected", 16 * c, count[c]);
}

int main(void) {
    check_python();
    check_uniform();
    CHECK(pab_mix_find("nope") == NULL, "an unknown mix is NULL");
    CHECK_DONE();
}
