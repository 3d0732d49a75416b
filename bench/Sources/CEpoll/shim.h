#ifndef SPEEDO_BENCH_CEPOLL_SHIM_H
#define SPEEDO_BENCH_CEPOLL_SHIM_H
/* Swift's Glibc module leaves out <sys/epoll.h>; the gateway's benchmark clients wait on one epoll set. */
#include <sys/epoll.h>
#endif
