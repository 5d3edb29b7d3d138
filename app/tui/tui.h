/* tui.h — zenith-bench's interactive terminal workbench: set up a run, watch it live, dig into
 * the results, browse and compare past runs. It drives the same runner as the headless `run`
 * command; the run executes on its own thread and the UI only reads its live snapshot.
 *
 *   zenith-bench tui [--model NAME|FILE.onnx] [--scenario S] [--ascii]
 */
#ifndef ZN_TUI_H
#define ZN_TUI_H

/* Returns an exit code (cli.h): 0, 2 for bad usage or no terminal, 130 after Ctrl-C. */
int tui_main(int argc, char **argv);

#endif
