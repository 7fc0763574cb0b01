#include "api/route_context.h"

namespace mms::api {

std::shared_ptr<runtime::ServedModel> FindModelFor(RouteContext& ctx, const Principal& caller, const std::string& name,
                                                   int64_t version) {
  caller.RequireModel(name);
  return ctx.repository.Find(name, version);
}

}  // namespace mms::api
