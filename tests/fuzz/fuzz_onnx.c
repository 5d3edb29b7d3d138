/* fuzz_onnx.c — libFuzzer target for the ONNX loader: any byte string goes through
 * zn_graph_from_onnx_buffer (no base directory, so external data is refused) and, as a second
 * interpretation, through the TensorProto decoder. Both must return a status, never crash,
 * hang, leak or read out of bounds. Built by `make fuzz` with clang -fsanitize=fuzzer,address,
 * undefined; seed the corpus with tests/fixtures/onnx/ models. Not a unit test.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "engine/log.h"
#include "engine/onnx.h"
#include "engine/pb.h"
#include "engine/tensor_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int quiet;
    if (!quiet) {
        zn_log_set_level(ZN_LOG_ERROR); /* mutated names draw warnings; keep the output clean */
        quiet = 1;
    }
    zn_graph *g = NULL;
    zn_onnx_options opt = {.max_bytes = 1 << 24};
    zn_status st = zn_graph_from_onnx_buffer(data, size, NULL, &opt, &g);
    if (st == ZN_OK) {
        if (!g) abort(); /* success must hand back a graph */
        zn_graph_free(g);
    } else if (g) {
        abort();         /* failure must not */
    }
    zn_pb r = zn_pb_reader(data, size, 0, "TensorProto");
    zn_tensor_file t;
    if (zn_tensor_decode(&r, NULL, "tensor", &t, NULL) == ZN_OK) zn_tensor_file_free(&t);
    return 0;
}
