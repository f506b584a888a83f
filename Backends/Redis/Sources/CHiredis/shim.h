#include <hiredis/hiredis.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
