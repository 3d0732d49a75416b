#ifndef SPEEDO_CLIBPQ_SHIM_H
#define SPEEDO_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#include <spawn.h>

/* SpeedoStore's launcher starts the PostgreSQL server programs with posix_spawn and must keep
   the daemonized postmaster from inheriting any of our descriptors. glibc (>= 2.34) has the
   needed file actions but declares them only under _GNU_SOURCE, which Swift's Glibc module is
   built without, so they are declared here under speedo_ names. */
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
extern int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *actions, const char *path);

static inline int speedo_spawn_add_closefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

static inline int speedo_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}
#endif
