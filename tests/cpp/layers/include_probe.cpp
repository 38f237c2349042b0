// include_probe.cpp — compiled by the Layers.* ctest cases (CMakeLists.txt) against one layer's
// include path: a header from a layer above must not be found there.
#include LLMF_PROBE_HEADER
