/* zoo_mlp.c — the zoo's `mlp`: a 784-512-512-10 perceptron with a softmax head (MNIST-sized).
 *
 * Layers are torch.nn.Linear as PyTorch exports them (Gemm, transB=1), He-normal weights and
 * small uniform biases. Not a trained model: the outputs are a valid distribution, nothing more.
 */
#include "suites/zoo.h"

zn_status zn_zoo_build_mlp(const zn_zoo_options *opt, zn_graph **out) {
    zn_zoo_builder zb, *b = &zb;
    zn_zb_begin(b, "mlp", opt);
    b->bias_range = 0.05f;

    zn_dim xd[2] = {zn_zb_sym(b, "batch"), zn_zb_dim(784)};
    int x = zn_zb_input(b, "x", ZN_F32, 2, xd);                // x: (B, 784)
    x = zn_zb_gemm(b, "fc1", NULL, x, 784, 512, 0.0f);         // (B, 512)
    x = zn_zb_op1(b, ZN_OP_RELU, "relu1", x);
    x = zn_zb_gemm(b, "fc2", NULL, x, 512, 512, 0.0f);         // (B, 512)
    x = zn_zb_op1(b, ZN_OP_RELU, "relu2", x);
    x = zn_zb_gemm(b, "fc3", NULL, x, 512, 10, 0.0f);          // (B, 10)
    int probs = zn_zb_op(b, ZN_OP_SOFTMAX, "softmax", "probs", 1, &x);
    zn_zb_attr_int(b, "axis", -1);
    if (b->st == ZN_OK) b->st = zn_graph_mark_output(b->g, probs);
    return zn_zb_finish(b, out);
}
