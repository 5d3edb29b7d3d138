/* zoo_cnn.c — the zoo's convolutional networks: `mnist-cnn` (2 conv + 2 dense) and `resnet50`
 * (ResNet-50 v1.5 as torchvision defines it: the stride sits on the bottleneck's 3x3 conv).
 *
 * Convolutions carry no bias and are followed by separate BatchNormalization nodes, as an
 * exporter writes them, so the fusion passes have something to fold. Weights are He-normal;
 * BN statistics sit near the identity and the last BN of every residual branch has gamma
 * ~0.2, which keeps activations O(1) through the 16 blocks with random weights.
 * Not trained: the logits are finite and vary with the input, nothing more.
 */
#include "suites/zoo.h"

#include <stdio.h>

zn_status zn_zoo_build_mnist_cnn(const zn_zoo_options *opt, zn_graph **out) {
    zn_zoo_builder zb, *b = &zb;
    zn_zb_begin(b, "mnist-cnn", opt);
    b->bias_range = 0.05f;
    int64_t k2[2] = {2, 2};

    zn_dim xd[4] = {zn_zb_sym(b, "batch"), zn_zb_dim(1), zn_zb_dim(28), zn_zb_dim(28)};
    int x = zn_zb_input(b, "image", ZN_F32, 4, xd);              // x: (B, 1, 28, 28)
    x = zn_zb_conv(b, "conv1", x, 1, 32, 3, 1, 1, true);         // (B, 32, 28, 28)
    x = zn_zb_op1(b, ZN_OP_RELU, "relu1", x);
    x = zn_zb_op1(b, ZN_OP_MAX_POOL, "pool1", x);                // (B, 32, 14, 14)
    zn_zb_attr_ints(b, "kernel_shape", 2, k2);
    zn_zb_attr_ints(b, "strides", 2, k2);
    x = zn_zb_conv(b, "conv2", x, 32, 64, 3, 1, 1, true);        // (B, 64, 14, 14)
    x = zn_zb_op1(b, ZN_OP_RELU, "relu2", x);
    x = zn_zb_op1(b, ZN_OP_MAX_POOL, "pool2", x);                // (B, 64, 7, 7)
    zn_zb_attr_ints(b, "kernel_shape", 2, k2);
    zn_zb_attr_ints(b, "strides", 2, k2);
    x = zn_zb_op1(b, ZN_OP_FLATTEN, "flatten", x);               // (B, 3136)
    zn_zb_attr_int(b, "axis", 1);
    x = zn_zb_gemm(b, "fc1", NULL, x, 3136, 128, 0.0f);          // (B, 128)
    x = zn_zb_op1(b, ZN_OP_RELU, "relu3", x);
    int logits = zn_zb_gemm(b, "fc2", "logits", x, 128, 10, 0.0f); // (B, 10)
    if (b->st == ZN_OK) b->st = zn_graph_mark_output(b->g, logits);
    return zn_zb_finish(b, out);
}

/* One bottleneck block: 1x1 (width) -> 3x3 (width, stride) -> 1x1 (width*4), each with BN,
 * ReLU after the first two; the shortcut is the identity or, on the first block of a stage,
 * conv1x1(stride)+BN. x: (B, cin, H, W) -> (B, 4*width, H/stride, W/stride) */
static int bottleneck(zn_zoo_builder *b, const char *p, int x, int64_t cin, int64_t width,
                      int64_t stride, bool project) {
    int64_t cout = 4 * width;
    int y = zn_zb_conv(b, zn_zb_name(b, "%s.conv1", p), x, cin, width, 1, 1, 0, false);
    y = zn_zb_batchnorm(b, zn_zb_name(b, "%s.bn1", p), y, width, 1.0f);
    y = zn_zb_op1(b, ZN_OP_RELU, zn_zb_name(b, "%s.relu1", p), y);
    y = zn_zb_conv(b, zn_zb_name(b, "%s.conv2", p), y, width, width, 3, stride, 1, false);
    y = zn_zb_batchnorm(b, zn_zb_name(b, "%s.bn2", p), y, width, 1.0f);
    y = zn_zb_op1(b, ZN_OP_RELU, zn_zb_name(b, "%s.relu2", p), y);
    y = zn_zb_conv(b, zn_zb_name(b, "%s.conv3", p), y, width, cout, 1, 1, 0, false);
    y = zn_zb_batchnorm(b, zn_zb_name(b, "%s.bn3", p), y, cout, 0.2f);
    int sc = x;
    if (project) {
        sc = zn_zb_conv(b, zn_zb_name(b, "%s.downsample.0", p), x, cin, cout, 1, stride, 0, false);
        sc = zn_zb_batchnorm(b, zn_zb_name(b, "%s.downsample.1", p), sc, cout, 1.0f);
    }
    y = zn_zb_op2(b, ZN_OP_ADD, zn_zb_name(b, "%s.add", p), y, sc);
    return zn_zb_op1(b, ZN_OP_RELU, zn_zb_name(b, "%s.relu3", p), y);
}

zn_status zn_zoo_build_resnet50(const zn_zoo_options *opt, zn_graph **out) {
    zn_zoo_builder zb, *b = &zb;
    zn_zb_begin(b, "resnet50", opt);
    b->bias_range = 0.05f;

    zn_dim xd[4] = {zn_zb_sym(b, "batch"), zn_zb_dim(3), zn_zb_sym(b, "height"),
                    zn_zb_sym(b, "width")};
    int x = zn_zb_input(b, "image", ZN_F32, 4, xd);              // x: (B, 3, H, W)
    x = zn_zb_conv(b, "conv1", x, 3, 64, 7, 2, 3, false);        // (B, 64, H/2, W/2)
    x = zn_zb_batchnorm(b, "bn1", x, 64, 1.0f);
    x = zn_zb_op1(b, ZN_OP_RELU, "relu", x);
    x = zn_zb_op1(b, ZN_OP_MAX_POOL, "maxpool", x);              // (B, 64, H/4, W/4)
    int64_t k3[2] = {3, 3}, s2[2] = {2, 2}, p1[4] = {1, 1, 1, 1};
    zn_zb_attr_ints(b, "kernel_shape", 2, k3);
    zn_zb_attr_ints(b, "strides", 2, s2);
    zn_zb_attr_ints(b, "pads", 4, p1);

    static const int blocks[4] = {3, 4, 6, 3};
    static const int64_t widths[4] = {64, 128, 256, 512};
    int64_t cin = 64;
    for (int s = 0; s < 4; s++) {                                // stage s: (B, 4*w, H/2^(s+2), ..)
        for (int i = 0; i < blocks[s]; i++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "layer%d.%d", s + 1, i);
            int64_t stride = (i == 0 && s > 0) ? 2 : 1;
            x = bottleneck(b, prefix, x, cin, widths[s], stride, i == 0);
            cin = 4 * widths[s];
        }
    }
    x = zn_zb_op1(b, ZN_OP_GLOBAL_AVERAGE_POOL, "avgpool", x);   // (B, 2048, 1, 1)
    x = zn_zb_op1(b, ZN_OP_FLATTEN, "flatten", x);               // (B, 2048)
    zn_zb_attr_int(b, "axis", 1);
    /* torchvision's fc init is U(+-1/sqrt(2048)); N(0, 0.02) is close and keeps logits O(1) */
    int logits = zn_zb_gemm(b, "fc", "logits", x, 2048, 1000, 0.02f); // (B, 1000)
    if (b->st == ZN_OK) b->st = zn_graph_mark_output(b->g, logits);
    return zn_zb_finish(b, out);
}
