/* emu_internal.h — what the CUDA emulation's own files share (not the kernels): running a
 * kernel's grid (emu_device.cpp), queueing work on streams and looking up allocations
 * (emu_runtime.cpp, used by the emulated libraries in emu_libs.cpp).
 */
#ifndef ZN_EMU_INTERNAL_H
#define ZN_EMU_INTERNAL_H

#include <functional>
#include <string>

#include "cuda_emu.h"

namespace zn_emu {

/* Runs every block of the launch on this OS thread; false with *error set on a fault. */
bool execute_kernel(const launch_cfg &c, kernel_call &call, std::string *error);

/* One piece of queued work (a kernel, a copy, a library call); returns its execution error. */
typedef std::function<cudaError_t()> work;

/* Queues w on stream s (or records it when s is being captured); the launch-time error (an
 * invalid stream, a prohibited call during capture) otherwise. */
cudaError_t enqueue(cudaStream_t s, work w, const char *what);

/* The allocation holding p: whether it is device memory and how many bytes follow p in it;
 * false when p is not in any allocation the emulation made (pageable host memory). */
bool find_allocation(const void *p, bool *device, size_t *bytes_after);

/* Prints a diagnostic of the emulation ("cuda-emu: ...") to stderr. */
void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

} // namespace zn_emu

#endif
