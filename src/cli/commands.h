#pragma once

namespace mms::cli {

// Each returns the process exit code; errors are thrown as mms::Error and reported by main.
int ServeCommand(int argc, char** argv);
int TokenizeCommand(int argc, char** argv);
int EmbedCommand(int argc, char** argv);
int PredictCommand(int argc, char** argv);
int BenchCommand(int argc, char** argv);
int QuantizeCommand(int argc, char** argv);
int PullCommand(int argc, char** argv);  // pull_command.cpp: a checkpoint from a Hugging Face hub

}  // namespace mms::cli
