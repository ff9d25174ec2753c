/* Small definitions every tulayd module uses. */
#ifndef TULAYD_COMMON_H
#define TULAYD_COMMON_H

#include <stddef.h>

#define MUSTCHECK __attribute__((warn_unused_result))

/* The struct that embeds `ptr` as its `member`: how a libuv callback finds its owner. */
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define TULAYD_VERSION "0.1.0"

#endif
