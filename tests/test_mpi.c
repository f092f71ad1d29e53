/*
 * test_mpi.c - the distribution layer (mpi/) end to end: `mpirun -np R mvke ...` (the executable
 * is MVKE_EXE, the launcher MPIRUN) gives the bytes one process gives, for audience (top N and
 * threshold, with an allow-list), tags and tag-all (tsv and npy, joined with `mvke concat`),
 * with 1 to 4 ranks, from one shared index file (of one block: all ranks but one get no users; and
 * of three blocks, each rank a view of whole blocks) and
 * from shard files (with a rank that gets no users); a missing or extra shard fails the job
 * with the rank and file named, quickly; a rank killed during tag-all fails the job, and
 * --resume continues every rank's part to the single-process output; a rank out of memory ends
 * the job at once with its rank and message.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "index/crc32c.h"

static char dir[] = "/tmp/mvke_test_mpi_XXXXXX";

/* Under AddressSanitizer the ranks do not check leaks: Open MPI keeps memory from MPI_Init past
 * MPI_Finalize, which LeakSanitizer would report as ours (the single-process runs of the tool keep
 * their leak checks in test_cli). */
#if defined(__SANITIZE_ADDRESS__)
#define RANK_ENV "export ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\"; "
#else
#define RANK_ENV ""
#endif

/* Runs a shell command in the test folder (printf-style); returns its exit status. */
static int sh(const char *fmt, ...) {
    char cmd[8192];
    int n = snprintf(cmd, sizeof cmd, "cd '%s' || exit 99; " RANK_ENV "M='%s'; MPI='%s --allow-run-as-root --oversubscribe'; ",
                     dir, getenv("MVKE_EXE"), getenv("MPIRUN"));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Whether two files (or two folders of files) in the test folder hold the same bytes. */
static int same(const char *a, const char *b) { return sh("diff -r '%s' '%s' >/dev/null", a, b) == 0; }

static void world(void) {
    cr_assert_not_null(getenv("MVKE_EXE"), "MVKE_EXE must point at the mvke executable");
    cr_assert_not_null(getenv("MPIRUN"), "MPIRUN must point at mpirun");
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(sh("$M gen --out w --users 3000 --levels 4,20,60 --seed 7 >/dev/null 2>&1"), 0);
    cr_assert_eq(sh("$M build -o ix.mvke --experts w/users.npy --ids w/user_ids.npy --tags w/tags.tsv "
                    "--tag-emb w/tag_emb.npy --gates w/gates.npy --task interest=0-2 --task intention=1-4 2>/dev/null"), 0);
    /* Every third user, as an allow-list. */
    cr_assert_eq(sh("$M tag-all ix.mvke --top 1 --task interest -o ids.tsv 2>/dev/null && "
                    "awk 'NR > 1 && NR %% 3 == 0 {print $1}' ids.tsv > allow.txt"), 0);
}

static void cleanup(void) {
    if (getenv("MVKE_TEST_KEEP")) return;
    if (dir[sizeof dir - 2] != 'X') sh("cd / && rm -rf '%s'", dir);
}

/* The commands compared, each writing OUT (a file, or a folder for npy tag-all); SRC is INDEX or
 * --shards PREFIX, RUN the launcher prefix. */
static const char *CMDS[] = {
    "$RUN $M audience $SRC --task interest --tag 1,2,5,30 --top 40 > $OUT",
    "$RUN $M audience $SRC --task intention --tag 3,4,41 --top 25 --allow allow.txt > $OUT",
    "$RUN $M audience $SRC --task intention --tag 1,2,5,30 --min-score 0.5 > $OUT",
    "$RUN $M audience $SRC --task interest --tag 7,9 --min-score 0.3 --allow allow.txt > $OUT",
    "$RUN $M tags $SRC --user 5,2999,1000,17,999,2000,1500,2500,0 --top 3 > $OUT",
    "$RUN $M tags $SRC --user 2500,12,2999 --task intention --top 5 > $OUT",
    "$RUN $M tag-all $SRC --top 4 --block-users 256 -o $OUT 2>/dev/null && $M concat $OUT",
    ("$RUN $M tag-all $SRC --top 3 --task intention --block-users 256 --format npy -o $OUT 2>/dev/null && "
     "$M concat $OUT"),
};
#define NCMDS (int)(sizeof CMDS / sizeof *CMDS)

/* Runs command c as one process (ref.c) and as `ranks` ranks from src (out.c.ranks.tag). */
static void compare(int c, int ranks, const char *src, const char *tag) {
    char ref[64], out[64];
    snprintf(ref, sizeof ref, "ref.%d", c);
    snprintf(out, sizeof out, "out.%d.%d.%s", c, ranks, tag);
    if (sh("test -e %s", ref) != 0) {
        /* One process on the whole file: no launcher, no parts (the concat step is left out). */
        char one[1024];
        snprintf(one, sizeof one, "%s", CMDS[c]);
        char *p = strstr(one, " && $M concat");
        if (p) *p = 0;
        cr_assert_eq(sh("RUN= SRC=ix.mvke OUT=%s; %s", ref, one), 0, "one process: %s", CMDS[c]);
    }
    cr_assert_eq(sh("RUN=\"$MPI -np %d\" SRC='%s' OUT=%s; %s", ranks, src, out, CMDS[c]), 0,
                 "%d ranks (%s): %s", ranks, src, CMDS[c]);
    cr_assert(same(ref, out), "%d ranks (%s) differ from one process: %s (compare %s/%s and %s)", ranks, src, CMDS[c],
              dir, out, ref);
}

TestSuite(mpi, .init = world, .fini = cleanup, .timeout = 300);

Test(mpi, one_shared_file_of_one_block) {
    /* The index is one block: one rank (the last) serves every user, the others none. */
    for (int r = 1; r <= 4; r++)
        for (int c = 0; c < NCMDS; c++) compare(c, r, "ix.mvke", "file");
}

Test(mpi, shard_files) {
    for (int r = 1; r <= 4; r++) {
        /* 3 units of 1024 users: with 4 shards, shard 0 is empty. */
        cr_assert_eq(sh("$M shard ix.mvke --parts %d --grain 1024 -o sh%d > sh%d.txt", r, r, r), 0);
        if (r == 4) cr_assert_eq(sh("grep -q 'sh4.00000.mvke.0 users' sh4.txt"), 0, "shard 0 of 4 should be empty");
        char src[64];
        snprintf(src, sizeof src, "--shards sh%d", r);
        for (int c = 0; c < NCMDS; c++) compare(c, r, src, "shards");
    }
}

/* sq8 and pq indexes keeping their rows, shared or sharded: every rank's certified answers
 * joined are the float32 index's in one process, byte for byte (the reference is ix.mvke). */
Test(mpi, codec_indexes_answer_as_float32_in_one_process) {
    const char *codecs[2] = {"sq8", "pq:4"};
    for (int c = 0; c < 2; c++) {
        cr_assert_eq(sh("$M build -o c%d.mvke --experts w/users.npy --ids w/user_ids.npy --tags w/tags.tsv "
                        "--tag-emb w/tag_emb.npy --gates w/gates.npy --task interest=0-2 --task intention=1-4 "
                        "--storage %s --refine 2>/dev/null && $M shard c%d.mvke --parts 3 --grain 1024 -o cs%d >/dev/null",
                        c, codecs[c], c, c), 0);
        char file[32], shards[32];
        snprintf(file, sizeof file, "c%d.mvke", c);
        snprintf(shards, sizeof shards, "--shards cs%d", c);
        for (int k = 0; k < NCMDS; k++) {
            compare(k, 3, file, c ? "pq-file" : "sq8-file");
            compare(k, 3, shards, c ? "pq-shards" : "sq8-shards");
        }
    }
}

Test(mpi, missing_or_extra_shard_fails_fast) {
    cr_assert_eq(sh("$M shard ix.mvke --parts 3 -o three >/dev/null"), 0);
    time_t t0 = time(NULL);
    int rc = sh("timeout 60 $MPI -np 4 $M audience --shards three --task interest --tag 1 --top 3 > o.tsv 2> e.txt");
    cr_assert_neq(rc, 0, "a job with a missing shard succeeded");
    cr_assert_neq(rc, 124, "a job with a missing shard hung");
    cr_assert_lt(time(NULL) - t0, 20, "a job with a missing shard took %lld s to fail", (long long)(time(NULL) - t0));
    cr_assert_eq(sh("grep -q 'rank 3: mvke audience: three.00003.mvke' e.txt"), 0, "the message names neither rank nor file");
    rc = sh("timeout 60 $MPI -np 2 $M tag-all --shards three --top 3 -o x.tsv 2> e2.txt");
    cr_assert(rc != 0 && rc != 124, "a job with a shard left over did not fail (rc %d)", rc);
    cr_assert_eq(sh("grep -q 'three.00002.mvke exists' e2.txt"), 0, "the message does not name the extra shard");
}

Test(mpi, killed_rank_then_resume) {
    /* Enough blocks, each checkpointed, that every rank is still running when rank 1 is killed. */
    cr_assert_eq(sh("$M gen --out big --users 9000 --levels 4,20,60 --seed 3 >/dev/null 2>&1 && "
                    "$M build -o big.mvke --experts big/users.npy --tags big/tags.tsv --tag-emb big/tag_emb.npy "
                    "--gates big/gates.npy --task interest=0-2 --task intention=1-4 2>/dev/null && "
                    "$M shard big.mvke --parts 3 --grain 1024 -o bs >/dev/null"), 0);
    cr_assert_eq(sh("$M tag-all big.mvke --top 3 --block-users 64 -o bref.tsv 2>/dev/null"), 0);
    /* Start the job, wait until rank 1 has checkpointed some progress, kill that rank only. On a
     * loaded machine rank 1 may finish between the two (the job then succeeds): start again. */
    int killed = 0;
    for (int attempt = 0; attempt < 4 && !killed; attempt++) {
        int rc = sh("rm -f b.tsv*; ($MPI -np 3 $M tag-all --shards bs --top 3 --block-users 64 --checkpoint-every 0 -o b.tsv "
                    "2> kill.err; echo $? > kill.rc) & job=$!; "
                    "for i in $(seq 400); do grep -qs '^next_user [1-9]' b.tsv.part-00001.checkpoint && break; sleep 0.05; done; "
                    "for p in $(pgrep -P $(pgrep -n -P $job) 2>/dev/null); do "
                    "  if tr '\\0' '\\n' < /proc/$p/environ | grep -qx OMPI_COMM_WORLD_RANK=1; then kill -9 $p; fi; done; "
                    "wait $job; cat kill.rc");
        cr_assert_eq(rc, 0);
        /* Killed in the middle: the job failed and rank 1's checkpoint is there and short of its
         * end (a rank killed after its last block has removed it, or, waiting for the other
         * ranks at the end, keeps one at its end: the run is then finished, not interrupted). */
        killed = sh("test \"$(cat kill.rc)\" != 0 && test -e b.tsv.part-00001.checkpoint && "
                    "u=$($M info bs.00001.mvke | awk '$1 == \"users\" {print $2}') && "
                    "! grep -qx \"next_user $u\" b.tsv.part-00001.checkpoint") == 0;
    }
    cr_assert(killed, "rank 1 was never killed in the middle of its part (four tries)");
    int rc = sh("$MPI -np 3 $M tag-all --shards bs --top 3 --block-users 64 -o b.tsv --resume 2> resume.err");
    if (rc != 0) sh("cat resume.err kill.err b.tsv.part-*.checkpoint >&2");
    cr_assert_eq(rc, 0, "the resumed job failed (exit %d; its messages above)", rc);
    cr_assert_eq(sh("grep -q 'rank 1: mvke tag-all: resuming at user position' resume.err"), 0, "rank 1 did not resume: %s/resume.err", dir);
    cr_assert_eq(sh("ls b.tsv.part-*.checkpoint 2>/dev/null | wc -l | grep -qx 0"), 0, "checkpoints left after the run");
    cr_assert_eq(sh("$M concat b.tsv --parts 3"), 0);
    cr_assert(same("b.tsv", "bref.tsv"), "the resumed parts differ from one process");
    /* Rank 1 killed after the final barrier, before removing its checkpoint (at its end), while
     * the others removed theirs: the run is finished, and --resume says so on every rank. */
    cr_assert_eq(sh("u=$($M info bs.00001.mvke | awk '$1 == \"users\" {print $2}'); "
                    "printf 'mvke tag-all checkpoint 2\\npartial yes (the output is incomplete: continue with --resume)\\n"
                    "index_bytes %%s\\nindex_fingerprint %%s\\nusers %%s\\ntop 3\\ntask *\\nformat tsv\\nvalues score\\nblock_users 64\\n"
                    "part 1 of 3: positions 0-%%s\\nnext_user %%s\\noutput_bytes %%s\\n' "
                    "$(stat -c %%s bs.00001.mvke) $($M info bs.00001.mvke | awk '$1 == \"fingerprint\" {print $2}') $u $u $u "
                    "$(stat -c %%s b.tsv.part-00001) > b.tsv.part-00001.checkpoint && cp b.tsv.part-00001 p1.before"), 0);
    { /* its last line: the CRC-32C of the lines before it, as the tool writes it */
        char ck[600], body[2048];
        snprintf(ck, sizeof ck, "%s/b.tsv.part-00001.checkpoint", dir);
        FILE *f = fopen(ck, "r+");
        cr_assert_not_null(f);
        const size_t n = fread(body, 1, sizeof body, f);
        fseek(f, 0, SEEK_END); /* from reading to writing */
        fprintf(f, "crc %08x\n", mvke_crc32c(0, body, n));
        fclose(f);
    }
    rc = sh("$MPI -np 3 $M tag-all --shards bs --top 3 --block-users 64 -o b.tsv --resume 2> done.err");
    if (rc != 0) sh("cat done.err b.tsv.part-00001.checkpoint >&2");
    cr_assert_eq(rc, 0, "a resume of a finished run failed (exit %d; its messages above)", rc);
    cr_assert_eq(sh("grep -c 'is finished, and so is every other part' done.err | grep -qx 3"), 0,
                 "every rank says the run is finished: %s/done.err", dir);
    cr_assert_eq(sh("test ! -e b.tsv.part-00001.checkpoint && cmp -s p1.before b.tsv.part-00001"), 0);
}

Test(mpi, one_shared_file_of_many_blocks) {
    /* Three blocks of 65536 users (small rows): each rank searches a view of whole blocks. */
    cr_assert_eq(sh("$M gen --out many --users 140000 --K 2 --d 4 --task a=0-1 --levels 4,20 --seed 5 >/dev/null 2>&1 && "
                    "$M build -o many.mvke --experts many/users.npy --ids many/user_ids.npy --tags many/tags.tsv "
                    "--tag-emb many/tag_emb.npy --gates many/gates.npy --task a=0-1 2>/dev/null"), 0);
    static const char *cmds[] = {
        "audience many.mvke --task a --tag 1,2,7 --top 30",
        "audience many.mvke --task a --tag 3 --min-score 0.9",
        "tags many.mvke --user 70000,3,139999,65536,131071 --top 4",
    };
    for (int c = 0; c < 3; c++) {
        cr_assert_eq(sh("$M %s > many.ref", cmds[c]), 0, "%s", cmds[c]);
        for (int r = 2; r <= 4; r++) {
            cr_assert_eq(sh("$MPI -np %d $M %s > many.out", r, cmds[c]), 0, "%d ranks: %s", r, cmds[c]);
            cr_assert(same("many.ref", "many.out"), "%d ranks differ from one process: %s", r, cmds[c]);
        }
    }
    cr_assert_eq(sh("$M tag-all many.mvke --top 3 -o many1.tsv 2>/dev/null && "
                    "$MPI -np 3 $M tag-all many.mvke --top 3 -o many3.tsv 2>/dev/null && $M concat many3.tsv --parts 3"), 0);
    cr_assert(same("many1.tsv", "many3.tsv"), "tag-all over 3 ranks of a shared file differs from one process");
}

Test(mpi, rank_out_of_memory_ends_the_job) {
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("AddressSanitizer cannot run under the address-space limit this test sets");
#endif
    /* Rank 1 may map 400 MB, less than a block of 4e6 users' rows: its allocation fails. */
    cr_assert_eq(sh("$M shard ix.mvke --parts 3 -o oom >/dev/null"), 0);
    time_t t0 = time(NULL);
    int rc = sh("timeout 60 $MPI -np 3 sh -c 'if [ $OMPI_COMM_WORLD_RANK = 1 ]; then ulimit -v 400000; fi; "
                "exec \"$0\" tag-all --shards oom --top 3 --block-users 4000000 -o oom.tsv' \"$M\" 2> oom.err");
    cr_assert(rc != 0 && rc != 124, "a job with a rank out of memory did not fail quickly (rc %d)", rc);
    cr_assert_lt(time(NULL) - t0, 20, "a job with a rank out of memory took %lld s to fail", (long long)(time(NULL) - t0));
    cr_assert_eq(sh("grep -q 'rank 1: mvke tag-all: allocating a block: MVKE_ERR_NOMEM' oom.err"), 0,
                 "the message does not name the rank and the failure");
}

/* A dot-score index, shared or sharded, over 3 ranks: audiences (top-N, --min-prob with
 * --prob), users' tags and tag-all with --prob equal one process byte for byte. */
Test(mpi, dot_index_answers_as_one_process) {
    cr_assert_eq(sh("$M build -o dot.mvke --experts w/users.npy --ids w/user_ids.npy --tags w/tags.tsv "
                    "--tag-emb w/tag_emb.npy --gates w/gates.npy --task interest=0-2 --task intention=1-4 --score dot "
                    "2>/dev/null && $M shard dot.mvke --parts 3 --grain 1024 -o ds >/dev/null"), 0);
    static const char *cmds[] = {
        "$RUN $M audience $SRC --task interest --tag 1,2,5,30 --top 40 > $OUT",
        "$RUN $M audience $SRC --task intention --tag 1,2,5 --min-prob 0.7 --prob > $OUT",
        "$RUN $M tags $SRC --user 5,2999,1000,17 --top 3 --prob > $OUT",
        "$RUN $M tag-all $SRC --top 4 --block-users 256 --prob -o $OUT 2>/dev/null",
    };
    const char *srcs[2] = {"dot.mvke", "--shards ds"};
    for (int c = 0; c < 4; c++) {
        cr_assert_eq(sh("RUN= SRC=dot.mvke OUT=dref.%d; %s", c, cmds[c]), 0, "one process: %s", cmds[c]);
        cr_assert_eq(sh("test $(wc -l < dref.%d) -gt 3", c), 0, "%s: too few lines to compare", cmds[c]);
        for (int s = 0; s < 2; s++) {
            cr_assert_eq(sh("RUN=\"$MPI -np 3\" SRC='%s' OUT=dout.%d.%d; %s%s", srcs[s], c, s, cmds[c],
                            c == 3 ? " && $M concat $OUT" : ""), 0, "3 ranks (%s): %s", srcs[s], cmds[c]);
            char a[32], b[32];
            snprintf(a, sizeof a, "dref.%d", c);
            snprintf(b, sizeof b, "dout.%d.%d", c, s);
            cr_assert(same(a, b), "3 ranks (%s) differ from one process: %s", srcs[s], cmds[c]);
        }
    }
}

/* A listed index over ranks (every rank opens the file and searches its view, which keeps the
 * lists cut to its users): exact audiences and probed ones print what one process prints. */
Test(mpi, listed_index_answers_as_one_process) {
    cr_assert_eq(sh("$M build -o listed.mvke --experts w/users.npy --ids w/user_ids.npy --tags w/tags.tsv "
                    "--tag-emb w/tag_emb.npy --gates w/gates.npy --task interest=0-2 --task intention=1-4 --lists 24 "
                    "2>/dev/null"), 0);
    static const char *cmds[] = {
        "$RUN $M audience listed.mvke --task interest --tag 1,2,5,30 --top 40 > $OUT",
        "$RUN $M audience listed.mvke --task intention --tag 1,2,5 --min-score 0.2 > $OUT",
        "$RUN $M audience listed.mvke --task interest --tag 1,2,5,30 --top 40 --probe 3 > $OUT",
        "$RUN $M tags listed.mvke --user 5,2999,1000,17 --top 3 > $OUT",
    };
    for (int c = 0; c < 4; c++) {
        cr_assert_eq(sh("RUN= OUT=lref.%d; %s", c, cmds[c]), 0, "one process: %s", cmds[c]);
        cr_assert_eq(sh("test $(wc -l < lref.%d) -gt 3", c), 0, "%s: too few lines to compare", cmds[c]);
        cr_assert_eq(sh("RUN=\"$MPI -np 3\" OUT=lout.%d; %s", c, cmds[c]), 0, "3 ranks: %s", cmds[c]);
        char a[32], b[32];
        snprintf(a, sizeof a, "lref.%d", c);
        snprintf(b, sizeof b, "lout.%d", c);
        cr_assert(same(a, b), "3 ranks differ from one process: %s", cmds[c]);
    }
}
