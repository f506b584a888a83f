#ifndef LOCKHEED_FUZZ_DRIVER_H
#define LOCKHEED_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// One fuzz input: libFuzzer's LLVMFuzzerTestOneInput signature.
typedef int (*lockheed_fuzz_callback)(const uint8_t *data, size_t size);

/// Runs libFuzzer on `callback` with the command line's options. SwiftPM renames an executable's
/// entry point to `<Module>_main` and links `main` to it, so libFuzzer's own `main` is never used:
/// each target's `<Module>_main` calls this instead.
int lockheed_fuzz_main(int argc, char **argv, lockheed_fuzz_callback callback);

#endif
