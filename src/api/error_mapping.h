#pragma once

#include "base/error.h"

namespace mms::api {

// The single place where error categories become HTTP status codes.
int HttpStatusFor(ErrorCode code);

}  // namespace mms::api
