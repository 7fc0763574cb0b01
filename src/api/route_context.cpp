#include "api/route_context.h"

namespace mms::api {

std::shared_ptr<runtime::ServedModel> FindModelFor(RouteContext& ctx, RequestInfo& info, const std::string& name,
                                                   int64_t version) {
  info.principal.RequireModel(name);
  auto model = ctx.repository.Find(name, version);
  info.model = model->name();
  info.version = model->version();
  return model;
}

}  // namespace mms::api
