#pragma once
// Everything in ctnn/io: saving and loading a network's parameters.

#include "ctnn/io/error.hpp"
#include "ctnn/io/model_file.hpp"
