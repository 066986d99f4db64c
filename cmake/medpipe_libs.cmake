# One static library per pipeline stage; each links only the stages whose headers it includes
# (all before it in the order core -> io -> storage -> data -> preprocess -> features -> models ->
# train -> infer -> metrics -> report -> pipeline).
set(SRC ${CMAKE_SOURCE_DIR}/src)

add_library(medpipe_core STATIC
  ${SRC}/core/config.cpp ${SRC}/core/fs.cpp ${SRC}/core/log.cpp ${SRC}/core/progress.cpp
  ${SRC}/core/runtime.cpp ${SRC}/core/world_mpi.cpp ${SRC}/core/field_rule.cpp
  ${SRC}/core/blas_kernel.cpp ${SRC}/core/distributions.cpp ${SRC}/core/linear_algebra.cpp)
# core/version.h from project(VERSION): the one place the version is written.
configure_file(${SRC}/core/version.h.in ${CMAKE_BINARY_DIR}/generated/core/version.h @ONLY)
target_include_directories(medpipe_core PUBLIC ${SRC} ${CMAKE_BINARY_DIR}/generated)
target_link_libraries(medpipe_core PUBLIC nlohmann_json::nlohmann_json spdlog::spdlog Threads::Threads ${CMAKE_DL_LIBS}
  PRIVATE MPI::MPI_CXX)

find_package(ZLIB REQUIRED)
add_library(medpipe_io STATIC
  ${SRC}/io/image_io.cpp ${SRC}/io/dicom_reader.cpp ${SRC}/io/dicom_direct.cpp ${SRC}/io/dicom_values.cpp ${SRC}/io/dicom_series.cpp ${SRC}/io/dicom_seg.cpp
  ${SRC}/io/gdcm_decoder.cpp ${SRC}/io/rtstruct.cpp ${SRC}/io/dicom_sr.cpp ${SRC}/io/dicom_guard.cpp
  ${SRC}/io/raster_io.cpp ${SRC}/io/nifti_io.cpp ${SRC}/io/nrrd_io.cpp ${SRC}/io/metaimage_io.cpp ${SRC}/io/npy.cpp ${SRC}/io/csv.cpp ${SRC}/io/dicom_writer.cpp)
target_include_directories(medpipe_io SYSTEM PRIVATE ${OPENCV_INCLUDE_DIR} ${NIFTI_INCLUDE_DIR} ${GDCM_INCLUDE_DIR} ${DCMTK_INCLUDE_DIRS})
target_link_libraries(medpipe_io PUBLIC medpipe_core PRIVATE
  ${DCMTK_LIBRARIES} ${GDCM_MSFF} ${GDCM_DSED} ${GDCM_COMMON}
  ${OPENCV_IMGCODECS} ${OPENCV_IMGPROC} ${OPENCV_CORE} ${NIFTI2_LIB} ${ZNZ_LIB} ${TEEM_LIB} ZLIB::ZLIB)

find_package(CURL REQUIRED)
find_library(TINYXML2_LIB tinyxml2 REQUIRED)
add_library(medpipe_storage STATIC ${SRC}/storage/storage.cpp ${SRC}/storage/remote.cpp
  ${SRC}/storage/s3.cpp ${SRC}/storage/http.cpp ${SRC}/storage/dicomweb.cpp)
target_link_libraries(medpipe_storage PUBLIC medpipe_io PRIVATE CURL::libcurl ${TINYXML2_LIB})

add_library(medpipe_data STATIC ${SRC}/data/labels.cpp ${SRC}/data/pairing.cpp ${SRC}/data/masks.cpp
  ${SRC}/data/synth.cpp ${SRC}/data/survival_table.cpp)
target_include_directories(medpipe_data SYSTEM PRIVATE ${OPENCV_INCLUDE_DIR})
target_link_libraries(medpipe_data PUBLIC medpipe_io medpipe_storage PRIVATE ${OPENCV_IMGPROC} ${OPENCV_CORE})

add_library(medpipe_preprocess STATIC ${SRC}/preprocess/segmentation_set.cpp
  ${SRC}/preprocess/preprocess.cpp ${SRC}/preprocess/volume.cpp ${SRC}/preprocess/augment.cpp
  ${SRC}/preprocess/tensor_cache.cpp)
target_include_directories(medpipe_preprocess SYSTEM PRIVATE ${OPENCV_INCLUDE_DIR})
target_link_libraries(medpipe_preprocess PUBLIC medpipe_data PRIVATE ${OPENCV_IMGPROC} ${OPENCV_CORE})

find_path(QHULL_INCLUDE_DIR libqhull_r/libqhull_r.h REQUIRED)
find_library(QHULL_R_LIB qhull_r REQUIRED)
add_library(medpipe_features STATIC ${SRC}/features/settings.cpp ${SRC}/features/roi.cpp ${SRC}/features/resample.cpp
  ${SRC}/features/intensity.cpp ${SRC}/features/texture.cpp ${SRC}/features/glcm.cpp
  ${SRC}/features/glrlm.cpp ${SRC}/features/zones.cpp ${SRC}/features/neighbourhood.cpp
  ${SRC}/features/mesh.cpp ${SRC}/features/morphology.cpp ${SRC}/features/autocorrelation.cpp ${SRC}/features/features.cpp
  ${SRC}/features/extract.cpp ${SRC}/features/normaliser.cpp)
target_include_directories(medpipe_features SYSTEM PRIVATE ${OPENCV_INCLUDE_DIR} ${QHULL_INCLUDE_DIR})
target_link_libraries(medpipe_features PUBLIC medpipe_io PRIVATE ${QHULL_R_LIB}
  ${OPENCV_IMGPROC} ${OPENCV_CORE})

# The stages that use LibTorch share one precompiled header.
add_library(medpipe_models STATIC ${SRC}/models/models.cpp ${SRC}/models/weights.cpp ${SRC}/models/predict.cpp
  ${SRC}/models/unet.cpp ${SRC}/models/sync_batch_norm.cpp ${SRC}/models/tiled.cpp ${SRC}/models/cox.cpp ${SRC}/models/logistic.cpp ${SRC}/models/clustering.cpp ${SRC}/models/cluster_module.cpp)
# OpenMP here too (the training loop needs it): the precompiled header must be built with the
# same -fopenmp as every target that reuses it, or GCC ignores it (_OPENMP differs).
target_link_libraries(medpipe_models PUBLIC medpipe_preprocess ${TORCH_LIBRARIES} OpenMP::OpenMP_CXX
  PRIVATE ZLIB::ZLIB)
target_precompile_headers(medpipe_models PRIVATE ${SRC}/models/torch_pch.h)

add_library(medpipe_metrics STATIC ${SRC}/metrics/classification.cpp ${SRC}/metrics/segmentation.cpp
  ${SRC}/metrics/survival.cpp ${SRC}/metrics/clustering.cpp)
target_link_libraries(medpipe_metrics PUBLIC medpipe_core)

add_library(medpipe_train STATIC ${SRC}/train/epoch_loop.cpp ${SRC}/train/losses.cpp
  ${SRC}/train/trainer.cpp ${SRC}/train/batches.cpp ${SRC}/train/data_parallel.cpp ${SRC}/train/cox_trainer.cpp
  ${SRC}/train/optim.cpp ${SRC}/train/checkpoint.cpp ${SRC}/train/segmentation_trainer.cpp ${SRC}/train/contrastive.cpp)
target_link_libraries(medpipe_train PUBLIC medpipe_models medpipe_metrics)
target_precompile_headers(medpipe_train REUSE_FROM medpipe_models)

add_library(medpipe_infer STATIC ${SRC}/infer/saved_model.cpp ${SRC}/infer/predictor.cpp
  ${SRC}/infer/segmenter.cpp)
target_link_libraries(medpipe_infer PUBLIC medpipe_models)
target_precompile_headers(medpipe_infer REUSE_FROM medpipe_models)

add_library(medpipe_report STATIC ${SRC}/report/report.cpp ${SRC}/report/svg.cpp
  ${SRC}/report/report_classification.cpp ${SRC}/report/report_segmentation.cpp
  ${SRC}/report/report_survival.cpp ${SRC}/report/report_clustering.cpp
  ${SRC}/report/thumbnails.cpp ${SRC}/report/run_status.cpp)
target_include_directories(medpipe_report SYSTEM PRIVATE ${OPENCV_INCLUDE_DIR})
target_link_libraries(medpipe_report PUBLIC medpipe_io
  PRIVATE ${OPENCV_IMGCODECS} ${OPENCV_IMGPROC} ${OPENCV_CORE})

# The tasks' flows (src/pipeline): the library a program or test drives a whole run with. Every
# file of the folder is in it, so a new task is a new file (and its row in task.cpp).
file(GLOB PIPELINE_SOURCES CONFIGURE_DEPENDS ${SRC}/pipeline/*.cpp)
add_library(medpipe_pipeline STATIC ${PIPELINE_SOURCES})
target_link_libraries(medpipe_pipeline PUBLIC medpipe_train medpipe_infer medpipe_report
  medpipe_features)
target_precompile_headers(medpipe_pipeline REUSE_FROM medpipe_models)

# cli/: argument parsing, one file per subcommand.
add_executable(medpipe
  ${CMAKE_SOURCE_DIR}/cli/main.cpp ${CMAKE_SOURCE_DIR}/cli/app.cpp
  ${CMAKE_SOURCE_DIR}/cli/cmd_run.cpp ${CMAKE_SOURCE_DIR}/cli/cmd_stages.cpp
  ${CMAKE_SOURCE_DIR}/cli/cmd_synth.cpp ${CMAKE_SOURCE_DIR}/cli/cmd_convert.cpp
  ${CMAKE_SOURCE_DIR}/cli/cmd_status.cpp ${CMAKE_SOURCE_DIR}/cli/cmd_features.cpp
  ${CMAKE_SOURCE_DIR}/cli/cmd_plan.cpp)
target_include_directories(medpipe PRIVATE ${CMAKE_SOURCE_DIR})
target_link_libraries(medpipe PRIVATE medpipe_pipeline)
target_precompile_headers(medpipe REUSE_FROM medpipe_models)
set_target_properties(medpipe PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})

# The binaries' allocator: gperftools' tcmalloc (minimal). LibTorch frees and re-allocates the
# same activation buffers at every step; glibc hands large ones back to the kernel (a fresh
# mmap, page faults on every touch) once they exceed its threshold or a thread's arena, as 3D
# activations do: the default cnn3d trains 75% faster with tcmalloc, the 2D cnn 3% (measured in
# docs/benchmarks.md). Not under the sanitizers, which bring their own allocator.
option(MEDPIPE_TCMALLOC "link the binaries with tcmalloc_minimal" ON)
if(MEDPIPE_TCMALLOC AND NOT MEDPIPE_SANITIZE AND NOT MEDPIPE_FUZZ)
  find_library(TCMALLOC_MINIMAL tcmalloc_minimal REQUIRED)
  target_link_libraries(medpipe PRIVATE ${TCMALLOC_MINIMAL})
endif()

# examples/simple: a whole run through the library in a page.
add_executable(example_simple ${CMAKE_SOURCE_DIR}/examples/simple/main.cpp)
target_link_libraries(example_simple PRIVATE medpipe_pipeline)
if(MEDPIPE_TCMALLOC AND NOT MEDPIPE_SANITIZE AND NOT MEDPIPE_FUZZ)
  target_link_libraries(example_simple PRIVATE ${TCMALLOC_MINIMAL})
endif()
target_precompile_headers(example_simple REUSE_FROM medpipe_models)
set_target_properties(example_simple PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})

# The DICOM reader's vectorised Modality LUT (target_clones with FMA) must round as the plain
# double multiply-then-add the other decode paths and the references use: no contraction.
set_source_files_properties(${SRC}/io/dicom_values.cpp PROPERTIES COMPILE_OPTIONS -ffp-contract=off)
