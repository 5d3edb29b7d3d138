/* zoo_transformer.c — the zoo's transformers: `bert-base` (BERT-base uncased encoder with
 * pooler, post-LN) and `gpt2-small` (GPT-2 124M, pre-LN, causal, LM head tied to wte).
 *
 * The graphs follow what exporters write for the HuggingFace models: MatMul + Add for linear
 * layers (weights stored (in, out)), heads split with Reshape [0,0,12,64] + Transpose, scores
 * divided by sqrt(64), the attention mask as an additive bias, positions sliced out of the
 * position table by Shape -> Gather -> Unsqueeze -> Slice, which folds to a constant once
 * "seq" is bound. Scalars (1, -10000, 8) are Constant nodes, not weights, so the unfolded
 * graph's float constants are exactly the model's parameters.
 *
 * Weights are N(0, 0.02) (GPT-2's residual projections N(0, 0.02/sqrt(2*n_layer))), biases
 * 0, LayerNorm gamma 1 and beta 0: HuggingFace's initialisation, not trained weights.
 */
#include "suites/zoo.h"

#include <math.h>
#include <stdio.h>

#define HIDDEN 768
#define HEADS 12
#define HEAD_DIM 64
#define LAYERS 12
#define FFN 3072

/* The "seq" dim of ids as a 1-D tensor [seq]: Shape -> Gather(1) -> Unsqueeze(0).
 * ids: (B, S) -> (1,) */
static int seq_len_1d(zn_zoo_builder *b, const char *p, int ids) {
    int shape = zn_zb_op1(b, ZN_OP_SHAPE, zn_zb_name(b, "%s.shape", p), ids);
    int one = zn_zb_i64_scalar(b, zn_zb_name(b, "%s.seq_index", p), 1);
    int seq = zn_zb_op2(b, ZN_OP_GATHER, zn_zb_name(b, "%s.seq", p), shape, one);
    zn_zb_attr_int(b, "axis", 0);
    int64_t ax0 = 0;
    return zn_zb_unsqueeze(b, zn_zb_name(b, "%s.seq_1d", p), seq, 1, &ax0);
}

/* Rows 0..seq-1 of a position table. table: (max_pos, C), seq1: (1,) -> (S, C) */
static int slice_rows(zn_zoo_builder *b, const char *name, int table, int seq1) {
    int64_t zero = 0;
    int in[4] = {table, zn_zb_i64s(b, zn_zb_name(b, "%s.starts", name), 1, &zero), seq1,
                 zn_zb_i64s(b, zn_zb_name(b, "%s.axes", name), 1, &zero)};
    return zn_zb_op(b, ZN_OP_SLICE, name, NULL, 4, in);
}

/* (B, S, 768) -> (B, 12, S, 64), or (B, 12, 64, S) when keys. */
static int split_heads(zn_zoo_builder *b, const char *name, int x, int heads_shape, bool keys) {
    int r = zn_zb_op2(b, ZN_OP_RESHAPE, zn_zb_name(b, "%s.reshape", name), x, heads_shape);
    int t = zn_zb_op1(b, ZN_OP_TRANSPOSE, zn_zb_name(b, "%s.transpose", name), r);
    int64_t perm_q[4] = {0, 2, 1, 3}, perm_k[4] = {0, 2, 3, 1};
    zn_zb_attr_ints(b, "perm", 4, keys ? perm_k : perm_q);
    return t;
}

/* softmax(q k^T / 8 + bias) v with heads merged back. q, v: (B,12,S,64), kt: (B,12,64,S),
 * bias broadcasts to (B,12,S,S) -> (B, S, 768) */
static int attention(zn_zoo_builder *b, const char *p, int q, int kt, int v, int bias,
                     int eight, int merged_shape) {
    int s = zn_zb_op2(b, ZN_OP_MATMUL, zn_zb_name(b, "%s.scores", p), q, kt);   // (B,12,S,S)
    s = zn_zb_op2(b, ZN_OP_DIV, zn_zb_name(b, "%s.scale", p), s, eight);
    s = zn_zb_op2(b, ZN_OP_ADD, zn_zb_name(b, "%s.add_mask", p), s, bias);
    s = zn_zb_op1(b, ZN_OP_SOFTMAX, zn_zb_name(b, "%s.softmax", p), s);
    zn_zb_attr_int(b, "axis", -1);
    int c = zn_zb_op2(b, ZN_OP_MATMUL, zn_zb_name(b, "%s.context", p), s, v);   // (B,12,S,64)
    c = zn_zb_op1(b, ZN_OP_TRANSPOSE, zn_zb_name(b, "%s.context.transpose", p), c);
    int64_t perm[4] = {0, 2, 1, 3};
    zn_zb_attr_ints(b, "perm", 4, perm);                                          // (B,S,12,64)
    return zn_zb_op2(b, ZN_OP_RESHAPE, zn_zb_name(b, "%s.context.reshape", p), c,
                     merged_shape);                                               // (B,S,768)
}

/* ---- BERT-base ----------------------------------------------------------------------------- */

zn_status zn_zoo_build_bert_base(const zn_zoo_options *opt, zn_graph **out) {
    zn_zoo_builder zb, *b = &zb;
    zn_zb_begin(b, "bert-base", opt);
    const float std = 0.02f, eps = 1e-12f;

    zn_dim d[2] = {zn_zb_sym(b, "batch"), zn_zb_sym(b, "seq")};
    int ids = zn_zb_input(b, "input_ids", ZN_I64, 2, d);           // ids: (B, S)
    int mask = zn_zb_input(b, "attention_mask", ZN_I64, 2, d);     // mask: (B, S), 1 = attend

    /* embeddings: word + position + token type 0, LayerNorm */
    int64_t wd[2] = {30522, HIDDEN}, pd[2] = {512, HIDDEN}, td[2] = {2, HIDDEN};
    int word_t = zn_zb_normal(b, "embeddings.word_embeddings.weight", 2, wd, 0.0f, std);
    int pos_t = zn_zb_normal(b, "embeddings.position_embeddings.weight", 2, pd, 0.0f, std);
    int type_t = zn_zb_normal(b, "embeddings.token_type_embeddings.weight", 2, td, 0.0f, std);
    int x = zn_zb_op2(b, ZN_OP_GATHER, "embeddings.word_embeddings", word_t, ids); // (B,S,768)
    zn_zb_attr_int(b, "axis", 0);
    int seq1 = seq_len_1d(b, "embeddings", ids);
    int pos = slice_rows(b, "embeddings.position_embeddings", pos_t, seq1);        // (S,768)
    int type0 = zn_zb_op2(b, ZN_OP_GATHER, "embeddings.token_type_embeddings", type_t,
                          zn_zb_i64_scalar(b, "embeddings.token_type_ids", 0));  // (768)
    zn_zb_attr_int(b, "axis", 0);
    x = zn_zb_op2(b, ZN_OP_ADD, "embeddings.add_position", x, pos);
    x = zn_zb_op2(b, ZN_OP_ADD, "embeddings.add_token_type", x, type0);
    x = zn_zb_layernorm(b, "embeddings.LayerNorm", NULL, x, HIDDEN, eps);

    /* additive mask: (1 - mask) * -10000, (B, S) -> (B, 1, 1, S) */
    int m = zn_zb_op1(b, ZN_OP_CAST, "extended_attention_mask.cast", mask);
    zn_zb_attr_int(b, "to", ZN_F32);
    m = zn_zb_op2(b, ZN_OP_SUB, "extended_attention_mask.invert",
                  zn_zb_scalar_node(b, "extended_attention_mask.one", 1.0f), m);
    m = zn_zb_op2(b, ZN_OP_MUL, "extended_attention_mask.scale", m,
                  zn_zb_scalar_node(b, "extended_attention_mask.min_value", -10000.0f));
    int64_t ax12[2] = {1, 2};
    int ext_mask = zn_zb_unsqueeze(b, "extended_attention_mask", m, 2, ax12);

    int64_t heads[4] = {0, 0, HEADS, HEAD_DIM}, merged[3] = {0, 0, HIDDEN};
    int heads_shape = zn_zb_i64s(b, "encoder.heads_shape", 4, heads);
    int merged_shape = zn_zb_i64s(b, "encoder.merged_shape", 3, merged);
    int eight = zn_zb_scalar_node(b, "encoder.attention_scale", sqrtf((float)HEAD_DIM));

    for (int l = 0; l < LAYERS; l++) {                             // x: (B, S, 768)
        char p[48], a[64];
        snprintf(p, sizeof p, "encoder.layer.%d", l);
        snprintf(a, sizeof a, "%s.attention.self", p);
        int q = zn_zb_linear(b, zn_zb_name(b, "%s.query", a), x, HIDDEN, HIDDEN, std);
        int k = zn_zb_linear(b, zn_zb_name(b, "%s.key", a), x, HIDDEN, HIDDEN, std);
        int v = zn_zb_linear(b, zn_zb_name(b, "%s.value", a), x, HIDDEN, HIDDEN, std);
        q = split_heads(b, zn_zb_name(b, "%s.query", a), q, heads_shape, false);
        k = split_heads(b, zn_zb_name(b, "%s.key", a), k, heads_shape, true);
        v = split_heads(b, zn_zb_name(b, "%s.value", a), v, heads_shape, false);
        int c = attention(b, a, q, k, v, ext_mask, eight, merged_shape);
        c = zn_zb_linear(b, zn_zb_name(b, "%s.attention.output.dense", p), c, HIDDEN, HIDDEN, std);
        x = zn_zb_op2(b, ZN_OP_ADD, zn_zb_name(b, "%s.attention.output.residual", p), c, x);
        x = zn_zb_layernorm(b, zn_zb_name(b, "%s.attention.output.LayerNorm", p), NULL, x,
                            HIDDEN, eps);
        int h = zn_zb_linear(b, zn_zb_name(b, "%s.intermediate.dense", p), x, HIDDEN, FFN, std);
        h = zn_zb_op1(b, ZN_OP_GELU, zn_zb_name(b, "%s.intermediate.gelu", p), h); // erf form
        h = zn_zb_linear(b, zn_zb_name(b, "%s.output.dense", p), h, FFN, HIDDEN, std);
        x = zn_zb_op2(b, ZN_OP_ADD, zn_zb_name(b, "%s.output.residual", p), h, x);
        x = zn_zb_layernorm(b, zn_zb_name(b, "%s.output.LayerNorm", p),
                            l == LAYERS - 1 ? "last_hidden_state" : NULL, x, HIDDEN, eps);
    }

    /* pooler: tanh(dense(token 0)), (B, S, 768) -> (B, 768) */
    int first = zn_zb_op2(b, ZN_OP_GATHER, "pooler.first_token", x,
                          zn_zb_i64_scalar(b, "pooler.first_token.index", 0));
    zn_zb_attr_int(b, "axis", 1);
    int pooled = zn_zb_gemm(b, "pooler.dense", NULL, first, HIDDEN, HIDDEN, std);
    pooled = zn_zb_op(b, ZN_OP_TANH, "pooler.activation", "pooler_output", 1, &pooled);

    if (b->st == ZN_OK) b->st = zn_graph_mark_output(b->g, x);
    if (b->st == ZN_OK) b->st = zn_graph_mark_output(b->g, pooled);
    return zn_zb_finish(b, out);
}

/* ---- GPT-2 small --------------------------------------------------------------------------- */

zn_status zn_zoo_build_gpt2_small(const zn_zoo_options *opt, zn_graph **out) {
    zn_zoo_builder zb, *b = &zb;
    zn_zb_begin(b, "gpt2-small", opt);
    const float std = 0.02f, eps = 1e-5f;
    const float proj_std = std / sqrtf(2.0f * LAYERS);
    const int64_t vocab = 50257, n_ctx = 1024;

    zn_dim d[2] = {zn_zb_sym(b, "batch"), zn_zb_sym(b, "seq")};
    int ids = zn_zb_input(b, "input_ids", ZN_I64, 2, d);           // ids: (B, S)

    int64_t wd[2] = {vocab, HIDDEN}, pd[2] = {n_ctx, HIDDEN};
    int wte = zn_zb_normal(b, "transformer.wte.weight", 2, wd, 0.0f, std);
    int wpe = zn_zb_normal(b, "transformer.wpe.weight", 2, pd, 0.0f, std);
    int x = zn_zb_op2(b, ZN_OP_GATHER, "transformer.wte", wte, ids); // (B, S, 768)
    zn_zb_attr_int(b, "axis", 0);
    int seq1 = seq_len_1d(b, "transformer", ids);
    int pos = slice_rows(b, "transformer.wpe", wpe, seq1);         // (S, 768)
    x = zn_zb_op2(b, ZN_OP_ADD, "transformer.add_position", x, pos);

    /* causal bias (S, S): 0 on and below the diagonal, -10000 above it */
    int seq2[2] = {seq1, seq1};
    int mshape = zn_zb_op(b, ZN_OP_CONCAT, "transformer.causal_mask.shape", NULL, 2, seq2);
    zn_zb_attr_int(b, "axis", 0);
    int full = zn_zb_op1(b, ZN_OP_CONSTANT_OF_SHAPE, "transformer.causal_mask.fill", mshape);
    if (b->st == ZN_OK) {
        const float neg = -10000.0f;
        const int64_t one = 1;
        zn_status st = zn_graph_set_attr_tensor(b->g, b->last_node, "value", ZN_F32, 1, &one, &neg);
        if (st != ZN_OK) b->st = st;
    }
    int causal = zn_zb_op2(b, ZN_OP_TRILU, "transformer.causal_mask", full,
                           zn_zb_i64_scalar(b, "transformer.causal_mask.k", 1));
    zn_zb_attr_int(b, "upper", 1);

    int64_t heads[4] = {0, 0, HEADS, HEAD_DIM}, merged[3] = {0, 0, HIDDEN};
    int64_t splits[3] = {HIDDEN, HIDDEN, HIDDEN};
    int heads_shape = zn_zb_i64s(b, "transformer.heads_shape", 4, heads);
    int merged_shape = zn_zb_i64s(b, "transformer.merged_shape", 3, merged);
    int split_sizes = zn_zb_i64s(b, "transformer.qkv_split", 3, splits);
    int eight = zn_zb_scalar_node(b, "transformer.attention_scale", sqrtf((float)HEAD_DIM));

    for (int l = 0; l < LAYERS; l++) {                             // x: (B, S, 768)
        char p[48], a[64];
        snprintf(p, sizeof p, "transformer.h.%d", l);
        snprintf(a, sizeof a, "%s.attn", p);
        int h = zn_zb_layernorm(b, zn_zb_name(b, "%s.ln_1", p), NULL, x, HIDDEN, eps);
        int qkv = zn_zb_linear(b, zn_zb_name(b, "%s.c_attn", a), h, HIDDEN, 3 * HIDDEN, std);
        int split_in[2] = {qkv, split_sizes}, qkv3[3];           // (B,S,2304) -> 3 x (B,S,768)
        zn_zb_node(b, ZN_OP_SPLIT, zn_zb_name(b, "%s.split_qkv", a), 2, split_in, 3, qkv3);
        zn_zb_attr_int(b, "axis", -1);
        int q = split_heads(b, zn_zb_name(b, "%s.query", a), qkv3[0], heads_shape, false);
        int k = split_heads(b, zn_zb_name(b, "%s.key", a), qkv3[1], heads_shape, true);
        int v = split_heads(b, zn_zb_name(b, "%s.value", a), qkv3[2], heads_shape, false);
        int c = attention(b, a, q, k, v, causal, eight, merged_shape);
        c = zn_zb_linear(b, zn_zb_name(b, "%s.c_proj", a), c, HIDDEN, HIDDEN, proj_std);
        x = zn_zb_op2(b, ZN_OP_ADD, zn_zb_name(b, "%s.residual", a), x, c);
        h = zn_zb_layernorm(b, zn_zb_name(b, "%s.ln_2", p), NULL, x, HIDDEN, eps);
        h = zn_zb_linear(b, zn_zb_name(b, "%s.mlp.c_fc", p), h, HIDDEN, FFN, std);
        h = zn_zb_op1(b, ZN_OP_GELU, zn_zb_name(b, "%s.mlp.act", p), h);
        zn_zb_attr_string(b, "approximate", "tanh");
        h = zn_zb_linear(b, zn_zb_name(b, "%s.mlp.c_proj", p), h, FFN, HIDDEN, proj_std);
        x = zn_zb_op2(b, ZN_OP_ADD, zn_zb_name(b, "%s.mlp.residual", p), x, h);
    }
    x = zn_zb_layernorm(b, "transformer.ln_f", NULL, x, HIDDEN, eps);

    /* tied LM head: logits = x wte^T. The transpose is a node on the one wte constant, so the
     * unfolded graph holds wte once (folding makes a transposed copy for the kernel). */
    int wte_t = zn_zb_op1(b, ZN_OP_TRANSPOSE, "lm_head.wte_transpose", wte);  // (768, V)
    int64_t perm[2] = {1, 0};
    zn_zb_attr_ints(b, "perm", 2, perm);
    int in[2] = {x, wte_t};
    int logits = zn_zb_op(b, ZN_OP_MATMUL, "lm_head", "logits", 2, in);       // (B, S, V)

    if (b->st == ZN_OK) b->st = zn_graph_mark_output(b->g, logits);
    return zn_zb_finish(b, out);
}
