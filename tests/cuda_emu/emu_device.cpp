/* emu_device.cpp — how the CUDA emulation runs a kernel: each block's threads are fibers on the
 * OS thread that executes the launch (the one that synchronises the stream), run one block at a
 * time, with real barriers and warp exchanges between them.
 *
 * A fiber runs until it reaches __syncthreads, a warp collective (__syncwarp, __shfl*_sync) or
 * its end, then the scheduler resumes the next runnable one; the last thread to arrive at a
 * barrier releases the others, so every thread of the block sees the writes made before the
 * barrier by all the others, as on the GPU. Exited threads count as arrived at __syncthreads.
 * Like bar.sync, a barrier counts arrivals, wherever they come from (g++ may duplicate a
 * __syncthreads call, so call sites cannot tell divergent barriers apart). What is undefined on a
 * GPU is a fault here, reported with the kernel, block and thread: a warp collective
 * whose mask names an exited or missing lane or not the calling lane, lanes of one warp meeting
 * at different collectives, a shuffle reading a lane outside the mask, and a deadlock.
 *
 * The order in which runnable threads get the CPU changes from pass to pass (ZN_EMU_SEED), so a
 * missing barrier between a write and another thread's read shows as a wrong result.
 * Context switches are a few instructions of assembly on x86-64 (callee-saved registers,
 * MXCSR and the x87 control word) and ucontext elsewhere. Stacks are 128 KiB, mmap'd lazily
 * with a guard page, reused across blocks and launches.
 * Not here: the host API (emu_runtime.cpp), blocks in parallel, independent thread scheduling
 * inside a warp (lanes of a warp meet at one collective at a time).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "cuda_emu.h"
#include "emu_internal.h"

#if !defined(__x86_64__)
#include <ucontext.h>
#endif
#if defined(__SANITIZE_ADDRESS__) /* make test-emu SAN=-fsanitize=address: tell ASan about the stack switches */
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define ZN_EMU_ASAN 1
#endif

namespace zn_emu {

__thread tls_state tls;

enum fiber_state : unsigned char { F_RUNNABLE, F_WAIT_BLOCK, F_WAIT_WARP, F_DONE };

struct cp_copy { /* a cp.async in flight */
    void *dst;
    const void *src;
    unsigned group;
};

struct fiber {
    fiber_id id;
    fiber_state state;
    std::vector<cp_copy> cp; /* this thread's cp.async copies not yet landed */
    unsigned cp_group;       /* the group new copies join (the number of commits so far) */
    void *sp; /* saved stack pointer while suspended (x86-64) */
    char *stack;
#if !defined(__x86_64__)
    ucontext_t uc;
#endif
};

enum { K_SYNCWARP = 1, K_LDMATRIX, K_LDMATRIX_T, K_MMA_F16, K_MMA_BF16, K_SHFL }; /* K_SHFL + mode */

struct warp_state {
    unsigned exists;  /* lanes the block has */
    unsigned exited;
    unsigned arrived; /* at the collective in progress */
    unsigned mask;
    int kind;
    uint64_t val[32], out[32];
    int b[32], c[32];
    const void *in_ptr[32]; /* a lane's own operands and results (on its stack) */
    void *out_ptr[32];
};

struct block_run {
    kernel_call *call;
    const launch_cfg *cfg;
    unsigned n, live, arrived;
    bool fault;
    std::string message;
};

static constexpr size_t STACK_BYTES = 128 << 10;

/* The OS thread's fibers and the block they run. */
struct worker {
    std::vector<fiber> fibers;
    std::vector<warp_state> warps;
    unsigned char *dyn_map = nullptr; /* dynamic shared memory, then a PROT_NONE guard page */
    size_t dyn_map_bytes = 0;
    block_run *block = nullptr;
    fiber *cur = nullptr;
    void *sched_sp = nullptr;
    uint64_t rng = 0;
    const void *sched_bottom = nullptr; /* the scheduler's stack, for ASan */
    size_t sched_size = 0;
#if !defined(__x86_64__)
    ucontext_t sched_uc;
#endif
    ~worker() {
        for (fiber &f : fibers)
            if (f.stack) munmap(f.stack - page(), STACK_BYTES + page());
        if (dyn_map) munmap(dyn_map, dyn_map_bytes);
    }
    static size_t page() { return (size_t)sysconf(_SC_PAGESIZE); }
};
static thread_local worker W;

/* ---- context switching ---- */

#if defined(__x86_64__)
extern "C" void zn_emu_switch(void **save_sp, void *load_sp);
extern "C" void zn_emu_fiber_entry(void);
asm(R"(
    .text
    .p2align 4
    .globl zn_emu_switch
    .type zn_emu_switch, @function
zn_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size zn_emu_switch, .-zn_emu_switch

    .p2align 4
    .globl zn_emu_fiber_entry
    .type zn_emu_fiber_entry, @function
zn_emu_fiber_entry:
    movq %r12, %rdi
    call zn_emu_fiber_main
    ud2
    .size zn_emu_fiber_entry, .-zn_emu_fiber_entry
    .section .note.GNU-stack,"",@progbits
    .text
)");
#endif

extern "C" void zn_emu_fiber_main(fiber *f);
#if !defined(__x86_64__)
static void zn_emu_fiber_trampoline() { zn_emu_fiber_main(W.cur); }
#endif

static void fiber_start(fiber *f) {
    if (!f->stack) {
        size_t pg = worker::page();
        void *m = mmap(nullptr, STACK_BYTES + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                       -1, 0);
        if (m == MAP_FAILED) {
            fprintf(stderr, "cuda-emu: out of memory for a thread stack\n");
            abort();
        }
        mprotect(m, pg, PROT_NONE); /* guard: an overflow faults instead of corrupting a neighbour */
        f->stack = (char *)m + pg;
    }
#if defined(__x86_64__)
    uint32_t mxcsr = 0x1f80;
    uint16_t fpcw = 0x037f;
    asm volatile("stmxcsr %0" : "=m"(mxcsr));
    asm volatile("fnstcw %0" : "=m"(fpcw));
    void **sp = (void **)(f->stack + STACK_BYTES) - 10; /* 16-byte aligned: ret leaves rsp % 16 == 0 */
    sp[0] = (void *)(uintptr_t)((uint64_t)mxcsr | ((uint64_t)fpcw << 32));
    sp[1] = sp[2] = sp[3] = nullptr; /* r15 r14 r13 */
    sp[4] = f;                       /* r12: the entry's argument */
    sp[5] = sp[6] = nullptr;         /* rbx rbp */
    sp[7] = (void *)&zn_emu_fiber_entry;
    f->sp = sp;
#else
    getcontext(&f->uc);
    f->uc.uc_stack.ss_sp = f->stack;
    f->uc.uc_stack.ss_size = STACK_BYTES;
    f->uc.uc_link = nullptr;
    makecontext(&f->uc, (void (*)())zn_emu_fiber_trampoline, 0);
#endif
}

/* scheduler -> fiber f, until it yields */
static void resume(fiber *f) {
    W.cur = f;
    tls.cur = &f->id;
#ifdef ZN_EMU_ASAN
    void *fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, f->stack, STACK_BYTES);
#endif
#if defined(__x86_64__)
    zn_emu_switch(&W.sched_sp, f->sp);
#else
    swapcontext(&W.sched_uc, &f->uc);
#endif
#ifdef ZN_EMU_ASAN
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
    W.cur = nullptr;
}

/* fiber -> scheduler; `done`: the fiber is never resumed */
static void yield(bool done = false) {
    fiber *f = W.cur;
#ifdef ZN_EMU_ASAN
    void *fake = nullptr;
    __sanitizer_start_switch_fiber(done ? nullptr : &fake, W.sched_bottom, W.sched_size);
#else
    (void)done;
#endif
#if defined(__x86_64__)
    zn_emu_switch(&f->sp, W.sched_sp);
#else
    swapcontext(&f->uc, &W.sched_uc);
#endif
#ifdef ZN_EMU_ASAN
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
}

/* ---- faults ---- */

[[noreturn]] static void fault(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fault(const char *fmt, ...) {
    block_run *b = W.block;
    fiber *f = W.cur;
    char what[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char where[200] = "";
    if (f)
        snprintf(where, sizeof where, " (block (%u,%u,%u), thread (%u,%u,%u))", tls.block_idx.x, tls.block_idx.y,
                 tls.block_idx.z, f->id.tid.x, f->id.tid.y, f->id.tid.z);
    if (!b->fault) {
        b->fault = true;
        b->message = std::string("kernel ") + b->cfg->name + where + ": " + what;
    }
    f->state = F_DONE;
    yield(true);
    abort(); /* a faulted block is never resumed */
}

/* ---- the fiber's life ---- */

static void release_block_barrier(block_run *b) {
    for (unsigned i = 0; i < b->n; i++)
        if (W.fibers[i].state == F_WAIT_BLOCK) W.fibers[i].state = F_RUNNABLE;
    b->arrived = 0;
}

static void cp_land(fiber *f, unsigned n);

extern "C" void zn_emu_fiber_main(fiber *f) {
#ifdef ZN_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, (const void **)&W.sched_bottom, &W.sched_size);
#endif
    block_run *b = W.block;
    b->call->run_thread();
    if (!f->cp.empty()) { /* copies still in flight land when the thread ends */
        f->cp_group++;
        cp_land(f, 0);
    }
    /* exit: counts as arrived at every later __syncthreads; must not be awaited by a warp collective */
    warp_state &w = W.warps[f->id.linear >> 5];
    unsigned bit = 1u << (f->id.linear & 31);
    if (w.arrived && (w.mask & bit))
        fault("the thread exited while lanes 0x%08x of its warp wait for it at a warp collective (mask 0x%08x)",
              w.arrived, w.mask);
    w.exited |= bit;
    f->state = F_DONE;
    b->live--;
    if (b->arrived && b->arrived == b->live) release_block_barrier(b);
    yield(true);
    abort();
}

void syncthreads() {
    block_run *b = W.block;
    fiber *f = W.cur;
    if (++b->arrived == b->live) {
        release_block_barrier(b);
        return;
    }
    f->state = F_WAIT_BLOCK;
    yield();
}

/* The collective of the calling lane: joins the warp's, and the last lane to arrive completes it
 * (complete() fills w.out for every lane of the mask). Returns this lane's w.out. */
static uint64_t warp_collective(int kind, const char *what, unsigned mask, uint64_t v, int bval, int cval,
                                void (*complete)(warp_state &w), const void *in = nullptr, void *out = nullptr) {
    fiber *f = W.cur;
    unsigned lane = f->id.linear & 31, bit = 1u << lane;
    warp_state &w = W.warps[f->id.linear >> 5];
    if (!(mask & bit)) fault("%s with mask 0x%08x, which does not include the calling lane %u", what, mask, lane);
    if (mask & ~w.exists)
        fault("%s with mask 0x%08x names lanes the block does not have (this warp has 0x%08x)", what, mask, w.exists);
    if (mask & w.exited)
        fault("%s with mask 0x%08x names lanes that have exited (0x%08x)", what, mask, mask & w.exited);
    if (w.arrived) {
        if (w.mask != mask || w.kind != kind)
            fault("lanes of warp %u meet at different warp collectives (%s with mask 0x%08x; lanes 0x%08x wait at "
                  "another with mask 0x%08x)", f->id.linear >> 5, what, mask, w.arrived, w.mask);
    } else {
        w.mask = mask;
        w.kind = kind;
    }
    w.val[lane] = v;
    w.b[lane] = bval;
    w.c[lane] = cval;
    w.in_ptr[lane] = in;
    w.out_ptr[lane] = out;
    w.arrived |= bit;
    if (w.arrived == mask) {
        if (complete) complete(w);
        unsigned base = f->id.linear & ~31u;
        for (unsigned l = 0; l < 32; l++)
            if ((mask >> l & 1) && W.fibers[base + l].state == F_WAIT_WARP) W.fibers[base + l].state = F_RUNNABLE;
        w.arrived = 0;
        return w.out[lane];
    }
    f->state = F_WAIT_WARP;
    yield();
    return w.out[lane];
}

void syncwarp(unsigned mask) { warp_collective(K_SYNCWARP, "__syncwarp", mask, 0, 0, 0, nullptr); }

/* shfl.sync as the PTX ISA defines it: per lane, the source lane j from b and the clamp word c;
 * out of the segment, the lane's own value. */
template <int MODE> static void shfl_complete(warp_state &w) {
    for (int lane = 0; lane < 32; lane++) {
        if (!(w.mask >> lane & 1)) continue;
        const int bval = w.b[lane] & 31, cval = w.c[lane] & 31, seg = (w.c[lane] >> 8) & 31;
        const int max_lane = (lane & seg) | (cval & ~seg), min_lane = lane & seg;
        int j;
        bool in_range;
        switch (MODE) {
        case SHFL_UP: j = lane - bval; in_range = j >= max_lane; break;
        case SHFL_DOWN: j = lane + bval; in_range = j <= max_lane; break;
        case SHFL_BFLY: j = lane ^ bval; in_range = j <= max_lane; break;
        default: j = min_lane | (bval & ~seg); in_range = j <= max_lane; break;
        }
        if (!in_range) j = lane;
        if (!(w.mask >> j & 1)) {
            /* undefined on the GPU; report it from the completing lane */
            fault("a shuffle of lane %d reads lane %d, which is not in the mask 0x%08x", lane, j, w.mask);
        }
        w.out[lane] = w.val[j];
    }
}

uint64_t shfl(shfl_mode mode, unsigned mask, uint64_t v, int b, int c) {
    static const char *const names[] = {"__shfl_sync", "__shfl_up_sync", "__shfl_down_sync", "__shfl_xor_sync"};
    static void (*const completes[])(warp_state &) = {shfl_complete<SHFL_IDX>, shfl_complete<SHFL_UP>,
                                                      shfl_complete<SHFL_DOWN>, shfl_complete<SHFL_BFLY>};
    return warp_collective(K_SHFL + mode, names[mode], mask, v, b, c, completes[mode]);
}

/* ---- the PTX of attention.cu ---- */

/* [p, p + bytes) lies in this launch's dynamic shared memory. */
static bool in_dynamic_smem(const void *p, size_t bytes) {
    uintptr_t a = (uintptr_t)p, lo = (uintptr_t)tls.dyn_smem;
    return a >= lo && a + bytes <= lo + tls.dyn_smem_bytes;
}

void cp_async16(void *smem, const void *gmem) {
    if (((uintptr_t)smem | (uintptr_t)gmem) & 15)
        fault("cp.async of 16 bytes from %p to %p: both addresses must be 16-byte aligned", gmem, smem);
    if (!in_dynamic_smem(smem, 16))
        fault("cp.async to %p: not inside the launch's %zu bytes of dynamic shared memory", smem, tls.dyn_smem_bytes);
    fiber *f = W.cur;
    f->cp.push_back(cp_copy{smem, gmem, f->cp_group});
}

void cp_async_commit() { W.cur->cp_group++; }

/* Lands every copy of the committed groups but the newest n (uncommitted copies keep waiting). */
static void cp_land(fiber *f, unsigned n) {
    size_t keep = 0;
    for (size_t i = 0; i < f->cp.size(); i++) {
        const cp_copy &c = f->cp[i];
        if (c.group + n < f->cp_group) memcpy(c.dst, c.src, 16);
        else f->cp[keep++] = c;
    }
    f->cp.resize(keep);
}

void cp_async_wait(int n) { cp_land(W.cur, n < 0 ? 0 : (unsigned)n); }

static void ldmatrix_complete(warp_state &w) {
    const bool trans = w.kind == K_LDMATRIX_T;
    for (int lane = 0; lane < 32; lane++) {
        const unsigned char *row = (const unsigned char *)w.in_ptr[lane];
        if (((uintptr_t)row & 15) || !in_dynamic_smem(row, 16))
            fault("ldmatrix: lane %d's row address %p is not 16-byte aligned inside the launch's %zu bytes of dynamic "
                  "shared memory (at %p)", lane, (const void *)row, tls.dyn_smem_bytes, (void *)tls.dyn_smem);
    }
    for (int lane = 0; lane < 32; lane++) {
        uint32_t *r = (uint32_t *)w.out_ptr[lane];
        for (int i = 0; i < 4; i++) {
            const unsigned char *const *rows = (const unsigned char *const *)&w.in_ptr[8 * i];
            if (!trans) { /* row lane/4, columns 2*(lane%4) and the next */
                memcpy(&r[i], rows[lane / 4] + 4 * (lane % 4), 4);
            } else {      /* the transpose: rows 2*(lane%4) and the next, column lane/4 */
                uint16_t lo, hi;
                memcpy(&lo, rows[2 * (lane % 4)] + 2 * (lane / 4), 2);
                memcpy(&hi, rows[2 * (lane % 4) + 1] + 2 * (lane / 4), 2);
                r[i] = (uint32_t)lo | (uint32_t)hi << 16;
            }
        }
    }
}

void ldmatrix_x4(uint32_t (&r)[4], const void *row, bool trans) {
    warp_collective(trans ? K_LDMATRIX_T : K_LDMATRIX, trans ? "ldmatrix.x4.trans" : "ldmatrix.x4", 0xffffffffu, 0,
                    0, 0, ldmatrix_complete, row, r);
}

struct mma_operands {
    uint32_t a[4], b[2];
    float c[4];
};

static float b16_to_float(uint16_t bits, bool bf16) {
    if (bf16) {
        uint32_t u = (uint32_t)bits << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    __half_raw hr;
    hr.x = bits;
    return __half2float(__half(hr));
}

/* D (16x8) = A (16x16, row) B (16x8, col) + C with g = lane/4, t = lane%4: a0 = A[g][2t..],
 * a1 = A[g+8][2t..], a2 = A[g][2t+8..], a3 = A[g+8][2t+8..]; b0 = B[2t..][g], b1 = B[2t+8..][g];
 * c = C[g][2t], C[g][2t+1], C[g+8][2t], C[g+8][2t+1]; the lower half of a pair is the lower index. */
static void mma_complete(warp_state &w) {
    const bool bf16 = w.kind == K_MMA_BF16;
    float A[16][16], B[16][8], C[16][8];
    for (int lane = 0; lane < 32; lane++) {
        const mma_operands &o = *(const mma_operands *)w.in_ptr[lane];
        const int g = lane / 4, t = lane % 4;
        for (int e = 0; e < 2; e++) {
            A[g][2 * t + e] = b16_to_float((uint16_t)(o.a[0] >> (16 * e)), bf16);
            A[g + 8][2 * t + e] = b16_to_float((uint16_t)(o.a[1] >> (16 * e)), bf16);
            A[g][2 * t + 8 + e] = b16_to_float((uint16_t)(o.a[2] >> (16 * e)), bf16);
            A[g + 8][2 * t + 8 + e] = b16_to_float((uint16_t)(o.a[3] >> (16 * e)), bf16);
            B[2 * t + e][g] = b16_to_float((uint16_t)(o.b[0] >> (16 * e)), bf16);
            B[2 * t + 8 + e][g] = b16_to_float((uint16_t)(o.b[1] >> (16 * e)), bf16);
        }
        C[g][2 * t] = o.c[0];
        C[g][2 * t + 1] = o.c[1];
        C[g + 8][2 * t] = o.c[2];
        C[g + 8][2 * t + 1] = o.c[3];
    }
    for (int lane = 0; lane < 32; lane++) {
        float *d = (float *)w.out_ptr[lane];
        const int g = lane / 4, t = lane % 4;
        const int rows[4] = {g, g, g + 8, g + 8}, cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
        for (int e = 0; e < 4; e++) {
            float acc = C[rows[e]][cols[e]];
            for (int k = 0; k < 16; k++) acc = fmaf(A[rows[e]][k], B[k][cols[e]], acc);
            d[e] = acc;
        }
    }
}

void mma_m16n8k16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1, bool bf16) {
    mma_operands o = {{a[0], a[1], a[2], a[3]}, {b0, b1}, {c[0], c[1], c[2], c[3]}};
    warp_collective(bf16 ? K_MMA_BF16 : K_MMA_F16, bf16 ? "mma.sync.m16n8k16.bf16" : "mma.sync.m16n8k16.f16",
                    0xffffffffu, 0, 0, 0, mma_complete, &o, c);
}

/* ---- blocks and grids ---- */

static const char *describe_wait(block_run *b, char *buf, size_t cap) {
    unsigned at_block = 0, at_warp = 0, first_warp = ~0u;
    for (unsigned i = 0; i < b->n; i++) {
        if (W.fibers[i].state == F_WAIT_BLOCK) at_block++;
        if (W.fibers[i].state == F_WAIT_WARP) {
            at_warp++;
            if (first_warp == ~0u) first_warp = i >> 5;
        }
    }
    if (at_warp)
        snprintf(buf, cap, "%u threads wait at __syncthreads and %u at warp collectives (warp %u: lanes 0x%08x "
                 "arrived, mask 0x%08x)", at_block, at_warp, first_warp, W.warps[first_warp].arrived,
                 W.warps[first_warp].mask);
    else
        snprintf(buf, cap, "%u threads wait at __syncthreads", at_block);
    return buf;
}

/* The scheduler's random stream: per OS thread, from $ZN_EMU_SEED (default 1), so a run is
 * reproducible; ZN_EMU_SEED=0 walks every pass forwards from thread 0 (no shuffling). */
static uint64_t next_random() {
    static const uint64_t seed = [] {
        const char *e = getenv("ZN_EMU_SEED");
        return e && *e ? strtoull(e, nullptr, 0) : 1ull;
    }();
    if (!seed) return 0;
    if (!W.rng) W.rng = seed * 0x9E3779B97F4A7C15ull | 1;
    W.rng ^= W.rng << 13; /* xorshift64 */
    W.rng ^= W.rng >> 7;
    W.rng ^= W.rng << 17;
    return W.rng;
}

/* Runs block tls.block_idx; false with b->message on a fault. */
static bool run_block(block_run *b) {
    for (unsigned i = 0; i < b->n; i++) {
        fiber *f = &W.fibers[i];
        f->state = F_RUNNABLE;
        f->cp.clear();
        f->cp_group = 0;
        fiber_start(f);
    }
    for (unsigned w = 0; w * 32 < b->n; w++) {
        unsigned lanes = b->n - w * 32 >= 32 ? 32 : b->n - w * 32;
        W.warps[w].exists = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1;
        W.warps[w].exited = W.warps[w].arrived = 0;
    }
    b->live = b->n;
    b->arrived = 0;
    while (b->live > 0) {
        /* each pass walks the threads from a random start, forwards or backwards: a thread that
         * reads another's write without a barrier in between sees it on some passes only */
        const uint64_t r = next_random();
        const bool backwards = r & 1;
        const unsigned start = (unsigned)((r >> 1) % b->n);
        bool ran = false;
        for (unsigned j = 0; j < b->n; j++) {
            const unsigned i = backwards ? (start + b->n - j) % b->n : (start + j) % b->n;
            fiber *f = &W.fibers[i];
            if (f->state != F_RUNNABLE) continue;
            resume(f);
            ran = true;
            if (b->fault) return false;
        }
        if (!ran) {
            char why[300];
            b->fault = true;
            b->message = std::string("kernel ") + b->cfg->name + ": deadlock in block (" +
                         std::to_string(tls.block_idx.x) + "," + std::to_string(tls.block_idx.y) + "," +
                         std::to_string(tls.block_idx.z) + "): " + describe_wait(b, why, sizeof why);
            return false;
        }
    }
    return true;
}

bool execute_kernel(const launch_cfg &c, kernel_call &call, std::string *error) {
    const unsigned n = c.block.x * c.block.y * c.block.z;
    if (W.fibers.size() < n) W.fibers.resize(n);
    if (W.warps.size() < (n + 31) / 32) W.warps.resize((n + 31) / 32);
    for (unsigned i = 0; i < n; i++) {
        fiber &f = W.fibers[i];
        f.id.linear = i;
        f.id.tid = make_uint3(i % c.block.x, i / c.block.x % c.block.y, i / (c.block.x * c.block.y));
    }
    const size_t pg = worker::page(), smem_span = (c.smem + 15) / 16 * 16;
    if (W.dyn_map_bytes < smem_span + pg) {
        if (W.dyn_map) munmap(W.dyn_map, W.dyn_map_bytes);
        W.dyn_map_bytes = (smem_span + pg - 1) / pg * pg + pg;
        W.dyn_map = (unsigned char *)mmap(nullptr, W.dyn_map_bytes, PROT_READ | PROT_WRITE,
                                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (W.dyn_map == MAP_FAILED) {
            fprintf(stderr, "cuda-emu: out of memory for %zu bytes of dynamic shared memory\n", c.smem);
            abort();
        }
        mprotect(W.dyn_map + W.dyn_map_bytes - pg, pg, PROT_NONE);
    }
    /* ends at the guard page: a read or write past the launch's dynamic shared memory faults */
    unsigned char *smem = W.dyn_map + W.dyn_map_bytes - pg - smem_span;
    tls_state saved = tls;
    tls.grid_dim = make_uint3(c.grid.x, c.grid.y, c.grid.z);
    tls.block_dim = make_uint3(c.block.x, c.block.y, c.block.z);
    tls.dyn_smem = smem;
    tls.dyn_smem_bytes = c.smem;
    block_run b{};
    b.call = &call;
    b.cfg = &c;
    b.n = n;
    W.block = &b;
    bool ok = true;
    for (unsigned z = 0; z < c.grid.z && ok; z++)
        for (unsigned y = 0; y < c.grid.y && ok; y++)
            for (unsigned x = 0; x < c.grid.x && ok; x++) {
                tls.block_idx = make_uint3(x, y, z);
                if (c.smem) memset(smem, 0xff, c.smem); /* stale garbage: NaN as floats */
                ok = run_block(&b);
            }
    W.block = nullptr;
    tls = saved;
#ifdef ZN_EMU_ASAN
    if (!ok) /* the abandoned threads' frames left redzones on the stacks the next block reuses */
        for (unsigned i = 0; i < n; i++) __asan_unpoison_memory_region(W.fibers[i].stack, STACK_BYTES);
#endif
    if (!ok) *error = b.message;
    return ok;
}

} // namespace zn_emu
