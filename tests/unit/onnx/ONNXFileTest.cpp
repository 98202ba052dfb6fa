//===- ONNXFileTest.cpp - the ONNX reader: parsing, tensors, external data ===//
#include "onnx/ONNXFile.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <unistd.h>

using hyc::onnxfile::ONNXFile;
using hyc::onnxfile::TensorView;
using onnx::TensorProto;

namespace {
class ONNXFileTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hyc-onnx-unit-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
  }
  void TearDown() override { std::system(("rm -rf '" + dir + "'").c_str()); }

  std::string write(const std::string &name, const std::string &bytes) {
    std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  /// A minimal model: opset 21, one initializer `t` set up by \p fill.
  std::string model(const std::function<void(TensorProto &)> &fill,
                    const std::string &name = "m.onnx") {
    onnx::ModelProto m;
    m.set_ir_version(10);
    auto *op = m.add_opset_import();
    op->set_domain("");
    op->set_version(21);
    auto *ms = m.add_opset_import();
    ms->set_domain("com.microsoft");
    ms->set_version(1);
    TensorProto *t = m.mutable_graph()->add_initializer();
    t->set_name("t");
    fill(*t);
    return write(name, m.SerializeAsString());
  }
  /// Opens \p path and reads initializer 0.
  bool read(const std::string &path, TensorView &view, std::string &error) {
    file = ONNXFile::open(path, error);
    if (!file)
      return false;
    return file->tensor(file->model().graph().initializer(0), view, error);
  }

  std::string dir;
  std::unique_ptr<ONNXFile> file;
};

TEST_F(ONNXFileTest, RawDataAndOpsets) {
  float v[3] = {1.5f, -2.0f, 3.25f};
  std::string path = model([&](TensorProto &t) {
    t.set_data_type(TensorProto::FLOAT);
    t.add_dims(3);
    t.set_raw_data(std::string(reinterpret_cast<char *>(v), sizeof v));
  });
  TensorView view;
  std::string error;
  ASSERT_TRUE(read(path, view, error)) << error;
  EXPECT_EQ(view.numElements, 3);
  EXPECT_EQ(view.bytes, 12);
  EXPECT_EQ(std::memcmp(view.data, v, 12), 0);
  EXPECT_EQ(file->opsetVersion(""), 21);
  EXPECT_EQ(file->opsetVersion("ai.onnx"), 21);
  EXPECT_EQ(file->opsetVersion("com.microsoft"), 1);
  EXPECT_EQ(file->opsetVersion("com.example"), -1);
}

TEST_F(ONNXFileTest, TypedFields) {
  std::string path = model([](TensorProto &t) {
    t.set_data_type(TensorProto::FLOAT16);
    t.add_dims(2);
    t.add_int32_data(0x3C00); // 1.0
    t.add_int32_data(0xC000); // -2.0
  });
  TensorView view;
  std::string error;
  ASSERT_TRUE(read(path, view, error)) << error;
  ASSERT_EQ(view.bytes, 4);
  EXPECT_EQ(view.data[0] | (view.data[1] << 8), 0x3C00);
  EXPECT_EQ(view.data[2] | (view.data[3] << 8), 0xC000);

  path = model([](TensorProto &t) {
    t.set_data_type(TensorProto::INT64);
    t.add_dims(2);
    t.add_int64_data(-7);
  }, "short.onnx");
  EXPECT_FALSE(read(path, view, error));
  EXPECT_NE(error.find("holds 1 values for 2 elements"), std::string::npos) << error;
}

TEST_F(ONNXFileTest, RawDataSizeMismatch) {
  std::string path = model([](TensorProto &t) {
    t.set_data_type(TensorProto::INT8);
    t.add_dims(4);
    t.add_dims(3);
    t.set_raw_data(std::string(11, '\0'));
  });
  TensorView view;
  std::string error;
  EXPECT_FALSE(read(path, view, error));
  EXPECT_NE(error.find("needs 12 bytes but its raw_data holds 11"), std::string::npos) << error;
}

TEST_F(ONNXFileTest, PackedInt4) {
  std::string path = model([](TensorProto &t) {
    t.set_data_type(TensorProto::UINT4);
    t.add_dims(5);
    t.set_raw_data(std::string(3, '\x21'));
  });
  TensorView view;
  std::string error;
  ASSERT_TRUE(read(path, view, error)) << error;
  EXPECT_EQ(view.bytes, 3);
}

TEST_F(ONNXFileTest, ExternalData) {
  std::string blob(64, '\0');
  float v[2] = {4.0f, 5.0f};
  std::memcpy(&blob[16], v, 8);
  write("w.bin", blob);
  auto ext = [](TensorProto &t, const std::string &loc, const std::string &off,
                const std::string &len) {
    t.set_data_type(TensorProto::FLOAT);
    t.add_dims(2);
    t.set_data_location(TensorProto::EXTERNAL);
    auto add = [&](const char *k, const std::string &v) {
      if (v.empty())
        return;
      auto *e = t.add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    add("location", loc);
    add("offset", off);
    add("length", len);
  };
  TensorView view;
  std::string error;
  ASSERT_TRUE(read(model([&](TensorProto &t) { ext(t, "w.bin", "16", "8"); }), view, error))
      << error;
  float got[2];
  std::memcpy(got, view.data, 8);
  EXPECT_EQ(got[0], 4.0f);
  EXPECT_EQ(got[1], 5.0f);

  struct Case {
    std::string loc, off, len, needle;
  } cases[] = {
      {"w.bin", "60", "", "lies past the end of 'w.bin' (64 bytes)"},
      {"w.bin", "18446744073709551615", "", "is not a number"},
      {"w.bin", "0", "12", "needs 8 bytes but its external data length holds 12"},
      {"missing.bin", "0", "", "missing.bin: cannot open"},
      {"../w.bin", "0", "", "must be a relative path below"},
      {"/etc/passwd", "0", "", "must be a relative path below"},
      {"a/../../w.bin", "0", "", "must be a relative path below"},
      {"", "0", "", "names no location"},
  };
  int i = 0;
  for (const Case &c : cases) {
    std::string path =
        model([&](TensorProto &t) { ext(t, c.loc, c.off, c.len); }, "e" + std::to_string(i++) +
                                                                        ".onnx");
    EXPECT_FALSE(read(path, view, error)) << c.loc;
    EXPECT_NE(error.find(c.needle), std::string::npos) << error;
  }
}

TEST_F(ONNXFileTest, BadFiles) {
  std::string error;
  EXPECT_EQ(ONNXFile::open(write("empty.onnx", ""), error), nullptr);
  EXPECT_NE(error.find("empty file"), std::string::npos) << error;
  EXPECT_EQ(ONNXFile::open(write("junk.onnx", "\x08\x07\xff\xff\xff"), error), nullptr);
  EXPECT_NE(error.find("does not parse"), std::string::npos) << error;
  EXPECT_EQ(ONNXFile::open(dir + "/nope.onnx", error), nullptr);
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
  onnx::ModelProto m;
  m.set_ir_version(10);
  EXPECT_EQ(ONNXFile::open(write("nograph.onnx", m.SerializeAsString()), error), nullptr);
  EXPECT_NE(error.find("no graph"), std::string::npos) << error;
}

TEST_F(ONNXFileTest, BadShapesAndTypes) {
  TensorView view;
  std::string error;
  EXPECT_FALSE(read(model([](TensorProto &t) {
                      t.set_data_type(TensorProto::FLOAT);
                      t.add_dims(-3);
                    }),
                    view, error));
  EXPECT_NE(error.find("bad shape"), std::string::npos) << error;
  EXPECT_FALSE(read(model([](TensorProto &t) {
                      t.set_data_type(TensorProto::FLOAT);
                      t.add_dims(1 << 30);
                      t.add_dims(1 << 30);
                    }, "huge.onnx"),
                    view, error));
  EXPECT_NE(error.find("bad shape"), std::string::npos) << error;
  EXPECT_FALSE(read(model([](TensorProto &t) {
                      t.set_data_type(TensorProto::STRING);
                      t.add_dims(1);
                      t.add_string_data("x");
                    }, "str.onnx"),
                    view, error));
  EXPECT_NE(error.find("STRING, which hyc does not read"), std::string::npos) << error;
}
} // namespace
