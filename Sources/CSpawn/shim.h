#ifndef SPEEDO_CSPAWN_SHIM_H
#define SPEEDO_CSPAWN_SHIM_H
#include <spawn.h>

/* Children speedo starts (the PostgreSQL server programs, the dev broker) must not inherit any
   of our descriptors, and the dev broker needs a session of its own. glibc (>= 2.34) has the
   file actions and the flag, but declares them only under _GNU_SOURCE, which Swift's Glibc
   module is built without; they are declared here under speedo_ names. */
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
extern int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *actions, const char *path);

static inline int speedo_spawn_add_closefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

static inline int speedo_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

/* glibc's value of POSIX_SPAWN_SETSID (spawn.h, __USE_GNU). */
static inline short speedo_spawn_setsid_flag(void) { return 0x80; }
#endif
