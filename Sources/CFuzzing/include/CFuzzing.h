#pragma once
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt), linked only into the fuzzing build (scripts/fuzz.sh). SwiftPM names an
/// executable's entry point itself, so the fuzz target calls the driver from there instead of libFuzzer's main.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
