/* Trains the tiny sine MLP exported by export_mlp.py for a few steps and prints the losses.
   Build and run: see README.md in this folder. */
#include <math.h>
#include <stdio.h>

#include "mlp.h"

#define N 64     /* points: export_mlp.py's N */
#define STEPS 30

int main(void) {
    static float x[N], y[N];
    float loss;
    for (int i = 0; i < N; i++) {
        x[i] = (float)(-3.0 + 6.0 * i / (N - 1));
        y[i] = (float)sin((double)x[i]);
    }
    if (graphc_mlp_num_inputs() != 2 || graphc_mlp_input_size(0) != N || graphc_mlp_input_size(1) != N) {
        fprintf(stderr, "libmlp was exported for other shapes\n");
        return 1;
    }
    graphc_mlp_state *state = graphc_mlp_create();
    if (!state) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (int step = 0; step < STEPS; step++) {
        int rc = graphc_mlp_run(state, x, y, &loss);
        if (rc != 0) {
            fprintf(stderr, "step %d failed in kernel %d\n", step, rc - 1);
            return 1;
        }
        printf("step %2d loss %.7f\n", step, loss);
    }
    const float *w1 = graphc_mlp_param(state, 0);
    printf("%s[0] after %d steps: %.6f\n", graphc_mlp_param_name(0), STEPS, w1[0]);
    graphc_mlp_destroy(state);
    return 0;
}
