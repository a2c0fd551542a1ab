#pragma once
// One request, synchronously, with a deadline: bench's pre-flight check (is the server there, does
// the model answer) and a helper for tests.
#include <string>

#include "clients/loadgen/connection.hpp"

namespace ringserve::loadgen {

// Sends `request` on a fresh connection and returns the exchange (status 0 + error on failure).
Exchange exchangeOnce(const Endpoint& ep, const std::string& request, double timeoutS);

}  // namespace ringserve::loadgen
