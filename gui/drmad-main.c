/* `drmad`: the desktop window, or with --no-gui the headless runner. */
#include "drmad-cli.h"

int
main (int argc, char **argv)
{
  /* Until the window lands (issue 5) every invocation is headless. */
  return drmad_cli_main (argc, argv);
}
