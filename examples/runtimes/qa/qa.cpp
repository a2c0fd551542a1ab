// qa.QuestionAnswering: the simplified interface (MLServer's decode_args). Inputs `questions` and
// `context` are lists of strings (BYTES, content type str); the output `scores` is one FP32 per
// question: the share of the question's words that occur in the context (case-insensitive).
// A toy stand-in for a real QA model, but it exercises the whole decode/encode path.
#include <ringserve/ringserve.hpp>

#include <cctype>
#include <set>
#include <string>
#include <vector>

namespace {

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::string w;
  for (const char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!w.empty()) {
      out.push_back(std::move(w));
      w.clear();
    }
  }
  if (!w.empty()) out.push_back(std::move(w));
  return out;
}

class QuestionAnswering : public ringserve::SimpleModel {
 public:
  QuestionAnswering() { decodeArgs(&QuestionAnswering::answer, {"questions", "context"}, {"scores"}); }

  std::vector<float> answer(const std::vector<std::string>& questions, const std::vector<std::string>& context) {
    std::set<std::string> known;
    for (const auto& c : context)
      for (auto& w : words(c)) known.insert(std::move(w));
    std::vector<float> scores;
    scores.reserve(questions.size());
    for (const auto& q : questions) {
      const auto qw = words(q);
      std::size_t hits = 0;
      for (const auto& w : qw) hits += known.count(w);
      scores.push_back(qw.empty() ? 0.0f : static_cast<float>(hits) / static_cast<float>(qw.size()));
    }
    metrics().observe("qa_questions_per_request", static_cast<double>(questions.size()),
                      "Questions per request", {1, 2, 4, 8, 16, 32});
    return scores;
  }
};

}  // namespace

RINGSERVE_REGISTER_RUNTIME(QuestionAnswering)
