#pragma once
// The simplified interface (MLServer's `decode_args`): declare a member function taking the
// decoded inputs and returning the outputs, and name the inputs; the SDK decodes each named input
// with the codec of its parameter type (codecs.hpp) and encodes the return value.
//
//   class QuestionAnswering : public ringserve::SimpleModel {
//    public:
//     QuestionAnswering() { decodeArgs(&QuestionAnswering::answer, {"questions", "context"}); }
//     std::vector<float> answer(const std::vector<std::string>& questions,
//                               const std::vector<std::string>& context);
//   };
//
// A parameter of type std::optional<T> may be absent from the request. A std::tuple return value
// gives several outputs. Outputs are named `outputNames`, else `output-0`, `output-1`, ...
// A missing input is MLServer's `Input 'questions' was not found. Available inputs are 'a', 'b'.`
#include <array>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ringserve/codecs.hpp"
#include "ringserve/model.hpp"

namespace ringserve {

namespace detail {
template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsTuple : std::false_type {};
template <class... T>
struct IsTuple<std::tuple<T...>> : std::true_type {};

template <class Arg>
Arg decodeArg(const InferenceRequest& request, std::string_view name) {
  if constexpr (IsOptional<Arg>::value) {
    const TensorView* in = request.findInput(name);
    if (in == nullptr) return std::nullopt;
    using T = typename Arg::value_type;
    return codecs::Codec<T>::decode(*in, request.contentTypeOf(*in));
  } else {
    return codecs::decode<Arg>(request, name);
  }
}
std::string defaultOutputName(std::size_t index);  // "output-<index>"
}  // namespace detail

class SimpleModel : public Model {
 public:
  InferenceResponse predict(const InferenceRequest& request) final {
    if (!impl_) throw std::logic_error("SimpleModel: the constructor did not call decodeArgs()");
    return impl_(request);
  }

 protected:
  template <class Self, class R, class... Args>
  void decodeArgs(R (Self::*fn)(Args...), std::array<std::string_view, sizeof...(Args)> inputNames,
                  std::vector<std::string> outputNames = {}) {
    bind<Self, R, Args...>([fn](Self* self, Args... a) -> R { return (self->*fn)(std::forward<Args>(a)...); },
                           inputNames, std::move(outputNames));
  }
  template <class Self, class R, class... Args>
  void decodeArgs(R (Self::*fn)(Args...) const, std::array<std::string_view, sizeof...(Args)> inputNames,
                  std::vector<std::string> outputNames = {}) {
    bind<Self, R, Args...>([fn](Self* self, Args... a) -> R { return (self->*fn)(std::forward<Args>(a)...); },
                           inputNames, std::move(outputNames));
  }

 private:
  template <class Self, class R, class... Args, class Call>
  void bind(Call call, std::array<std::string_view, sizeof...(Args)> inputNames, std::vector<std::string> outputNames) {
    std::array<std::string, sizeof...(Args)> names;
    for (std::size_t i = 0; i < names.size(); ++i) names[i] = std::string(inputNames[i]);
    Self* self = static_cast<Self*>(this);
    impl_ = [self, call, names, outputNames](const InferenceRequest& request) {
      auto args = decodeAll<std::remove_cvref_t<Args>...>(request, names, std::index_sequence_for<Args...>{});
      R result = std::apply([&](auto&&... a) { return call(self, std::move(a)...); }, std::move(args));
      InferenceResponse response = request.response();
      encodeResult(response, result, outputNames);
      return response;
    };
  }

  template <class... D, std::size_t... I>
  static std::tuple<D...> decodeAll(const InferenceRequest& request, const std::array<std::string, sizeof...(D)>& names,
                                    std::index_sequence<I...>) {
    return std::tuple<D...>{detail::decodeArg<D>(request, names[I])...};
  }

  template <class R>
  static void encodeResult(InferenceResponse& response, const R& result, const std::vector<std::string>& names) {
    auto nameOf = [&](std::size_t i) { return i < names.size() ? names[i] : detail::defaultOutputName(i); };
    if constexpr (detail::IsTuple<R>::value) {
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        (codecs::encode(response, nameOf(I), std::get<I>(result)), ...);
      }(std::make_index_sequence<std::tuple_size_v<R>>{});
    } else {
      codecs::encode(response, nameOf(0), result);
    }
  }

  std::function<InferenceResponse(const InferenceRequest&)> impl_;
};

}  // namespace ringserve
