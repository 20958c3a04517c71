// Declarations only (include/CFuzzing.h); this file keeps the C target non-empty.
#include "CFuzzing.h"
