#ifndef SHADOWGATE_CLIBPQ_SHIM_H
#define SHADOWGATE_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
