/* A TCP listener that never answers: connections complete (the kernel accepts them into
 * the backlog) and then hear nothing, like a server whose machine hangs. Prints its port
 * and waits to be killed. For it_standby: a database host that stalls libpq's connect. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    listen(fd, 128) != 0 || getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
		perror("it_silent_listener");
		return 1;
	}
	printf("%d\n", ntohs(addr.sin_port));
	fflush(stdout);
	for (;;)
		pause();
}
