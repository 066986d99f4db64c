#include "storage/dicomweb.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"

namespace medpipe {
namespace {

TEST(DicomWeb, UriGivesTheServiceRootAndTheQidoFilters) {
  DicomWebUri uri = parse_dicomweb_uri("dicomweb://pacs:8042/dicom-web/?Modality=CT", "images");
  EXPECT_EQ(uri.base_url, "http://pacs:8042/dicom-web");
  EXPECT_EQ(uri.query, "Modality=CT");
  EXPECT_EQ(parse_dicomweb_uri("dicomwebs://pacs/wado/rs", "x").base_url, "https://pacs/wado/rs");
  EXPECT_THROW(parse_dicomweb_uri("dicomweb://pacs:8042", "images_bucket"), UsageError);
}

TEST(DicomWeb, FirstPartOfAMultipartRelatedAnswer) {
  std::string body =
      "--abc\r\nContent-Type: application/dicom\r\n\r\nDICM\r\n--abc\r\n"
      "Content-Type: application/dicom\r\n\r\nsecond\r\n--abc--\r\n";
  EXPECT_EQ(
      first_multipart_part(body, "multipart/related; type=\"application/dicom\"; boundary=abc"),
      "DICM");
  EXPECT_EQ(first_multipart_part(body, "multipart/related; boundary=\"abc\""), "DICM");
  EXPECT_EQ(first_multipart_part("plain", "application/dicom"), "");
}

TEST(DicomWeb, QidoAnswerOfAnyShapeGivesInstancesOrARunError) {
  std::vector<InstanceRef> refs = parse_qido_instances(
      R"([{"0020000D":{"vr":"UI","Value":["1.2"]},"00080018":{"vr":"UI","Value":["1.2.3"]}},)"
      R"({"00080018":{"vr":"UI","Value":[7]}}, 5])",
      "pacs");
  ASSERT_EQ(refs.size(), 3u);
  EXPECT_EQ(refs[0].study, "1.2");
  EXPECT_EQ(refs[0].sop, "1.2.3");
  EXPECT_EQ(refs[1].sop, "");  // a number where a UID belongs: no UID, refused by the caller
  EXPECT_EQ(refs[2].sop, "");
  EXPECT_TRUE(parse_qido_instances("", "pacs").empty());
  EXPECT_THROW(parse_qido_instances("<html>busy</html>", "pacs"), RunError);
  EXPECT_THROW(parse_qido_instances(R"({"not":"a list"})", "pacs"), RunError);
  EXPECT_THROW(parse_qido_instances(std::string(100, '[') + std::string(100, ']'), "pacs"),
               RunError);
}

}  // namespace
}  // namespace medpipe
