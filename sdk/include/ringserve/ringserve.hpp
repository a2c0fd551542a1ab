#pragma once
// Everything a runtime author needs: #include <ringserve/ringserve.hpp>
#include "ringserve/abi.h"
#include "ringserve/codecs.hpp"
#include "ringserve/datatype.hpp"
#include "ringserve/errors.hpp"
#include "ringserve/metrics.hpp"
#include "ringserve/model.hpp"
#include "ringserve/parameters.hpp"
#include "ringserve/request.hpp"
#include "ringserve/response.hpp"
#include "ringserve/settings.hpp"
#include "ringserve/simple_model.hpp"
#include "ringserve/tensor.hpp"
