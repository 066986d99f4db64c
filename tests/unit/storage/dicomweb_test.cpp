#include "storage/dicomweb.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace medpipe
