/* commands.h — the zenith-bench subcommands; each takes argc/argv after the command name and
 * returns a documented exit code (cli.h). */
#ifndef ZN_COMMANDS_H
#define ZN_COMMANDS_H

int cmd_run(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_export(int argc, char **argv);

#endif
