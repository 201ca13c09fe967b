#include "zfs/zfs_tool.hpp"

#include "util/error.hpp"
#include "util/fd.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace wsd::zfs {

namespace {

// Reads what is available on `fd` into `sink`; returns false at end of file.
bool drain(int fd, std::string& sink) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      sink.append(buf, static_cast<size_t>(n));
      return true;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return true;
    return false;
  }
}

// True when `c` may appear in a ZFS dataset name component (zfs_namecheck.c: valid_char).
bool valid_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == ':' || c == ' ';
}

} // namespace

ToolOutput run_tool(const std::vector<std::string>& argv) {
  if (argv.empty()) throw util::Fatal("run_tool: empty command");
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw util::Fatal(util::describe_error("pipe", argv[0], errno));
  util::Fd out_r(out_pipe[0]);
  util::Fd out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) throw util::Fatal(util::describe_error("pipe", argv[0], errno));
  util::Fd err_r(err_pipe[0]);
  util::Fd err_w(err_pipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The child starts with default signal dispositions and an empty mask whatever ours are.
  sigset_t all;
  sigset_t none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0].c_str(), &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw util::Fatal(util::describe_error("exec", argv[0], rc));
  out_w.reset();
  err_w.reset();

  ToolOutput result;
  bool out_open = true;
  bool err_open = true;
  while (out_open || err_open) {
    pollfd fds[2];
    nfds_t n = 0;
    if (out_open) fds[n++] = pollfd{out_r.get(), POLLIN, 0};
    if (err_open) fds[n++] = pollfd{err_r.get(), POLLIN, 0};
    int ready = ::poll(fds, n, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      bool is_out = fds[i].fd == out_r.get();
      bool more = drain(fds[i].fd, is_out ? result.out : result.err);
      if (!more) (is_out ? out_open : err_open) = false;
    }
  }

  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) throw util::Fatal(util::describe_error("waitpid", argv[0], errno));
  }
  result.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  return result;
}

std::string describe_command(const std::vector<std::string>& argv) {
  std::string text;
  for (const std::string& a : argv) {
    if (!text.empty()) text += ' ';
    bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$") == std::string::npos;
    text += plain ? a : "'" + a + "'";
  }
  return text;
}

std::string run_tool_checked(const std::vector<std::string>& argv) {
  ToolOutput r = run_tool(argv);
  if (r.status != 0) {
    std::string err = r.err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    std::string how = r.status < 0 ? "killed by a signal" : "exit status " + std::to_string(r.status);
    throw util::Fatal("{} failed ({}){}{}", describe_command(argv), how, err.empty() ? "" : ": ", err);
  }
  return r.out;
}

std::optional<DatasetName> parse_dataset_name(std::string_view text) {
  if (text.starts_with("zfs:")) text.remove_prefix(4);
  if (text.empty() || text.size() > 255) return std::nullopt;
  char first = text.front();
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z'))) return std::nullopt;
  size_t start = 0;
  for (;;) {
    size_t slash = text.find('/', start);
    std::string_view component = text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (component.empty() || component == "." || component == "..") return std::nullopt;
    for (char c : component)
      if (!valid_name_char(c)) return std::nullopt;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  DatasetName d;
  d.name = std::string(text);
  d.pool = std::string(text.substr(0, text.find('/')));
  return d;
}

std::optional<DatasetName> parse_zfs_target(std::string_view text) {
  if (!text.starts_with("zfs:")) return std::nullopt;
  return parse_dataset_name(text);
}

bool dataset_exists(const std::string& name) {
  ToolOutput r = run_tool({"zfs", "list", "-H", "-o", "name", name});
  if (r.status != 0) return false;
  std::string_view out = r.out;
  while (!out.empty() && out.back() == '\n') out.remove_suffix(1);
  return out == name;
}

void create_dataset(const std::string& name,
                    const std::vector<std::pair<std::string, std::string>>& props) {
  std::vector<std::string> argv{"zfs", "create", "-p"};
  for (const auto& [key, value] : props) {
    argv.emplace_back("-o");
    argv.push_back(key + "=" + value);
  }
  argv.push_back(name);
  run_tool_checked(argv);
}

std::map<std::string, std::string> parse_property_lines(std::string_view text) {
  std::map<std::string, std::string> props;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    size_t tab = line.find('\t');
    if (tab == std::string_view::npos) continue;
    props[std::string(line.substr(0, tab))] = std::string(line.substr(tab + 1));
  }
  return props;
}

std::map<std::string, std::string> get_properties(const std::string& name,
                                                  const std::vector<std::string>& props) {
  std::string list;
  for (const std::string& p : props) {
    if (!list.empty()) list += ',';
    list += p;
  }
  return parse_property_lines(run_tool_checked({"zfs", "get", "-Hp", "-o", "property,value", list, name}));
}

} // namespace wsd::zfs
