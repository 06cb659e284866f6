// Text lists and labels files (data/dataset_sources): "PATH LABEL" lines and labels.txt, as
// digits-dataset create reads them. Checks the contract of each parsed item: a label in range,
// and the --folder prefix applied to every relative path.
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/dataset_sources.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static digits::fuzz::InputFile input("list.txt");
  const std::string& path = input.write(data, size);
  const std::string folder = "/nonexistent/images";
  digits::fuzz::expect_clean_rejection([&] {
    digits::TextList list = digits::read_text_list(path, folder, 10);
    for (const digits::SourceItem& item : list.items) {
      if (item.label < 0 || item.label >= 10) digits::fuzz::bug("label out of range", item.path);
      if (item.path.empty()) digits::fuzz::bug("empty path", "");
    }
  });
  digits::fuzz::expect_clean_rejection([&] { digits::read_labels_file(path); });
  return 0;
}
