/* The example app: shows it runs inside the guest, then exits with a code of its own. */
#include <stdio.h>
#include <sys/utsname.h>

int main(int argc, char **argv) {
  struct utsname u;
  uname(&u);
  printf("hello from Containerx: %d args:", argc - 1);
  for (int i = 1; i < argc; i++) printf(" [%s]", argv[i]);
  printf("\nmachine: %s, kernel %s %s\n", u.machine, u.sysname, u.release);
  fprintf(stderr, "hello: exiting with code 3\n");
  return 3;
}
