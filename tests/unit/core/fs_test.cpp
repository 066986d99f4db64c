#include "core/fs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include "core/error.h"
#include "core/text.h"

namespace medpipe {
namespace {

TEST(SafeJoin, KeepsNamesInsideTheirFolder) {
  EXPECT_EQ(safe_join("cache/s3", "a/b.png", "key"), fs::path("cache/s3/a/b.png"));
  EXPECT_EQ(safe_join("/tmp/x", "1.2.840.10008.dcm", "uid"), fs::path("/tmp/x/1.2.840.10008.dcm"));
  EXPECT_EQ(safe_join("d", "a/./b", "key"), fs::path("d/a/b"));
  for (const char* bad : {"", "../x", "a/../../x", "/etc/passwd", "..", "a/..", "."}) {
    EXPECT_THROW(safe_join("cache/s3", bad, "the key"), UsageError) << bad;
  }
  EXPECT_THROW(safe_join("d", std::string("a\0b", 3), "key"), UsageError);
  try {
    safe_join("models", "../m", "event key 'model_bucket_name'");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("model_bucket_name"), std::string::npos) << e.what();
  }
}

TEST(AtomicWrite, NamesUpToNameMaxAndCleansStaleTemps) {
  fs::path dir = fs::temp_directory_path() / "medpipe_fs_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string longest(255, 'n');  // a legal file name: its temp name must still fit
  atomic_write_text(dir / longest, "x");
  EXPECT_EQ(read_text_file(dir / longest), "x");
  EXPECT_THROW(atomic_write_text(dir / std::string(256, 'n'), "x"), UsageError);
  const fs::path stale = dir / "a.json.tmp.999999.3";  // a killed run's (no such process)
  const fs::path mine = dir / ("b.json.tmp." + std::to_string(::getpid()) + ".1");
  const fs::path other = dir / "c.tmp.ranks.part1";  // not atomic_write's
  for (const auto& p : {stale, mine, other}) atomic_write_text(p, "");
  EXPECT_EQ(remove_stale_temps(dir), 1);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(mine));
  EXPECT_TRUE(fs::exists(other));
  fs::remove_all(dir);
}

TEST(AtomicBatch, FilesAppearOnlyWhenCommittedAndPrivate) {
  const fs::path dir = fs::temp_directory_path() / ("medpipe_batch_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  {
    AtomicBatch batch(dir);
    batch.add_text(dir / "a.json", "{}\n");
    batch.add_text(dir / "b.json", "[1]\n");
    EXPECT_EQ(batch.pending(), 2u);
    EXPECT_FALSE(fs::exists(dir / "a.json"));  // only temporaries until commit
    batch.commit();
    EXPECT_EQ(batch.pending(), 0u);
    EXPECT_EQ(read_text_file(dir / "b.json"), "[1]\n");
    EXPECT_EQ(fs::status(dir / "a.json").permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
    batch.add_text(dir / "c.json", "{}\n");  // never committed: removed with the batch
    EXPECT_THROW(batch.add_text(dir / std::string(300, 'n'), "x"), UsageError);
  }
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a.json", "b.json"}));
  fs::remove_all(dir);
}

TEST(RedactSecrets, RemovesUserAndPasswordOfEveryUrl) {
  EXPECT_EQ(redact_secrets("s3_endpoint http://AKIA:wJalr@minio:9000/x failed"),
            "s3_endpoint http://***@minio:9000/x failed");
  EXPECT_EQ(redact_secrets("dicomweb://u:p@pacs:8042/dicom-web?StudyInstanceUID=1 and "
                           "https://k@h/"),
            "dicomweb://***@pacs:8042/dicom-web?StudyInstanceUID=1 and https://***@h/");
  EXPECT_EQ(redact_secrets("\"http://u:p@h\""), "\"http://***@h\"");
  const std::string plain = "s3://bucket/prefix a@b.c http://host/path?x=a@b";
  EXPECT_EQ(redact_secrets(plain), plain);  // no user: nothing changes
}

}  // namespace
}  // namespace medpipe
