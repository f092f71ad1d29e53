/*
 * writer_lock.h - writers of one index file exclude each other: `mvke add`, `upsert`, `remove`
 * and `update` read the file, change it and rename a new one over it; two at once would each
 * publish their own change over the other's. Readers never take the lock.
 */
#ifndef MVKE_TOOLS_WRITER_LOCK_H
#define MVKE_TOOLS_WRITER_LOCK_H

/* How long a writer waits for another one before it gives up, in seconds. */
#define CLI_WRITER_WAIT_S 300

/* Takes the writer lock of the index file at path: an exclusive flock on the file that path names
 * at the moment it is granted (a writer that renamed a new file over path since we opened it
 * makes us lock that new file instead, so that we read its change). Waits while another writer
 * holds it, saying so once on stderr, for at most CLI_WRITER_WAIT_S seconds. The lock lasts
 * until the process exits (or *fd is closed). A path that cannot be opened is left to the
 * caller's own open, which names the error (*fd = -1, CLI_EXIT_OK). Returns an exit status:
 * CLI_EXIT_FAIL after the wait, with the reason printed. */
int cli_writer_lock(const char *cmd, const char *path, int *fd);

#endif
