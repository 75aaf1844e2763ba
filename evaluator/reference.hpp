// The naive reference executor: plain loops over every canonical op, float64 accumulation,
// no layout tricks. Slow by design; tests compare the oneDNN evaluator against it.
#pragma once

#include <memory>

#include "evaluator/executor.hpp"

namespace autocompress {

std::unique_ptr<Executor> make_reference_executor(const Graph& g);

}  // namespace autocompress
