/*
 * commands.c - the table of `mvke` subcommands. A new subcommand adds its line here.
 */
#include "cli.h"

int cli_cmd_demo(int argc, char **argv);
int cli_cmd_bench(int argc, char **argv);
int cli_cmd_build(int argc, char **argv);
int cli_cmd_info(int argc, char **argv);
int cli_cmd_verify(int argc, char **argv);
int cli_cmd_audience(int argc, char **argv);
int cli_cmd_tags(int argc, char **argv);
int cli_cmd_tag_all(int argc, char **argv);
int cli_cmd_gen(int argc, char **argv);
int cli_cmd_add(int argc, char **argv);
int cli_cmd_upsert(int argc, char **argv);
int cli_cmd_remove(int argc, char **argv);
int cli_cmd_update(int argc, char **argv);
int cli_cmd_merge(int argc, char **argv);
int cli_cmd_shard(int argc, char **argv);
int cli_cmd_concat(int argc, char **argv);

const cli_command cli_commands[] = {
    {"demo", "what the system does, on a synthetic world it makes itself (report with pictures)", cli_cmd_demo},
    {"gen", "write a synthetic MVKE world as .npy files and a tags.tsv", cli_cmd_gen},
    {"build", "build an index file from .npy arrays and a tags.tsv", cli_cmd_build},
    {"add", "add users to an index file (rewritten atomically)", cli_cmd_add},
    {"upsert", "add new users and replace present ones in an index file", cli_cmd_upsert},
    {"remove", "remove users from an index file", cli_cmd_remove},
    {"update", "remove, upsert and add users in one rewrite of an index file", cli_cmd_update},
    {"merge", "merge index files of the same shape and tags into one", cli_cmd_merge},
    {"info", "show what an index file holds", cli_cmd_info},
    {"verify", "check every checksum of an index file", cli_cmd_verify},
    {"audience", "the best users of tags (top N or above a score)", cli_cmd_audience},
    {"tags", "the best tags of users, per task", cli_cmd_tags},
    {"tag-all", "the top tags of every user, streamed to a file, resumable", cli_cmd_tag_all},
    {"shard", "split an index file into one shard file per rank of an mpirun job", cli_cmd_shard},
    {"concat", "join the parts of a distributed tag-all into the single-process output", cli_cmd_concat},
    {"bench", "time the search beside FAISS, the naive method and this machine's limits", cli_cmd_bench},
    {0, 0, 0},
};
