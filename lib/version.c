#include "commit.h"
#include "util.h"

const char hvb_version[] = HVB_VERSION;
const char hvb_commit[] = HVB_COMMIT;
