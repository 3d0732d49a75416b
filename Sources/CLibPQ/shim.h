#ifndef SPEEDO_CLIBPQ_SHIM_H
#define SPEEDO_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
