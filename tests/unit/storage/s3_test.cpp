#include "storage/s3.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace medpipe {
namespace {

TEST(S3, ListingPageGivesObjectsAndTheNextToken) {
  S3ListingPage page = parse_s3_listing(
      "<?xml version=\"1.0\"?><ListBucketResult><IsTruncated>true</IsTruncated>"
      "<NextContinuationToken>t2</NextContinuationToken>"
      "<Contents><Key>a/1.png</Key><ETag>\"e1\"</ETag><Size>12</Size></Contents>"
      "<Contents><Key>a/2.png</Key><Size>x</Size></Contents></ListBucketResult>",
      "s3://b/a");
  ASSERT_EQ(page.objects.size(), 2u);
  EXPECT_EQ(page.objects[0].key, "a/1.png");
  EXPECT_EQ(page.objects[0].size, 12u);
  EXPECT_EQ(page.objects[1].size, 0u);  // not a number: 0, the download tells the truth
  EXPECT_EQ(page.next_token, "t2");
  EXPECT_EQ(parse_s3_listing("<ListBucketResult><IsTruncated>false</IsTruncated>"
                             "<NextContinuationToken>t</NextContinuationToken></ListBucketResult>",
                             "s3://b")
                .next_token,
            "");
  EXPECT_THROW(parse_s3_listing("<html>proxy error", "s3://b"), RunError);
  EXPECT_THROW(parse_s3_listing(std::string(100000, '<'), "s3://b"), RunError);
}

}  // namespace
}  // namespace medpipe
