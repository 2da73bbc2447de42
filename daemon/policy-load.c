/* SPDX-License-Identifier: MIT */
/*
 * Where the policy comes from: vfiod.conf, then policy.d/ *.conf sorted by
 * name. Every file and the directory must be owned by root (or the owner a
 * test asks for) and writable by nobody else; symbolic links are not
 * followed; nothing but regular files of at most 1 MiB is read.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>

#include "policy-parser.h"
#include "policy.h"
#include "util.h"

typedef struct Loader {
	PolicyParser *parser;
	uid_t owner_uid;
} Loader;

/* Records an error about a whole file or directory; returns r. */
#define loader_error(l, path, r, ...) policy_parser_error((l)->parser, path, 0, r, __VA_ARGS__)

static int stat_check(Loader *l, const char *path, const struct stat *st)
{
	if (st->st_uid != l->owner_uid)
		return loader_error(l, path, -EPERM, "refusing to read: owned by uid %u, not %u",
				    (unsigned)st->st_uid, (unsigned)l->owner_uid);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return loader_error(l, path, -EPERM,
				    "refusing to read: writable by %s (mode %04o); "
				    "only its owner may write it",
				    st->st_mode & S_IWOTH ? "others" : "group",
				    (unsigned)(st->st_mode & 07777));
	return 0;
}

/* Reads and parses one file; a missing file is no error. */
static int loader_load_file(Loader *l, int dir_fd, const char *name, const char *path)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, allocated;
	struct stat st;
	int r;

	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = negative_errno();
		if (r == -ENOENT)
			return 0;
		if (r == -ELOOP)
			return loader_error(l, path, r,
					    "refusing to read: is a symbolic link (not followed)");
		return loader_error(l, path, r, "cannot open: %s", strerror(-r));
	}
	if (fstat(fd, &st) < 0) {
		r = negative_errno();
		return loader_error(l, path, r, "cannot stat: %s", strerror(-r));
	}
	if (!S_ISREG(st.st_mode))
		return loader_error(l, path, -EINVAL, "refusing to read: not a regular file");
	r = stat_check(l, path, &st);
	if (r < 0)
		return r;
	if ((uint64_t)st.st_size > POLICY_FILE_SIZE_MAX)
		return loader_error(l, path, -EFBIG, "larger than 1 MiB");

	/* One byte more than the limit, to see a file that grew since fstat(). */
	allocated = (size_t)st.st_size + 1;
	buf = malloc(allocated + 1);
	if (!buf)
		return policy_parser_oom(l->parser);
	for (;;) {
		ssize_t n;

		if (size == allocated) {
			char *b;
			if (allocated > POLICY_FILE_SIZE_MAX)
				return loader_error(l, path, -EFBIG, "larger than 1 MiB");
			allocated = allocated * 2 > POLICY_FILE_SIZE_MAX + 1
					? POLICY_FILE_SIZE_MAX + 1
					: allocated * 2;
			b = realloc(buf, allocated + 1);
			if (!b)
				return policy_parser_oom(l->parser);
			buf = b;
		}
		n = read(fd, buf + size, allocated - size);
		if (n < 0) {
			r = negative_errno();
			if (r == -EINTR)
				continue;
			return loader_error(l, path, r, "cannot read: %s", strerror(-r));
		}
		if (n == 0)
			break;
		size += (size_t)n;
	}
	buf[size] = 0;

	return policy_parser_feed(l->parser, path, buf, size);
}

static int strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dropin_name(const char *s)
{
	size_t n = strlen(s);
	return s[0] != '.' && n > 5 && streq(s + n - 5, ".conf");
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static int loader_load_dir(Loader *l, const char *dir)
{
	_cleanup_(closedirp) DIR *d = NULL;
	_cleanup_strv_free_ char **names = NULL;
	size_t n = 0;
	struct stat st;
	int fd, r;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = negative_errno();
		if (r == -ENOENT)
			return 0;
		return loader_error(l, dir, r, "cannot open directory: %s", strerror(-r));
	}
	d = fdopendir(fd);
	if (!d) {
		r = negative_errno();
		safe_close(fd);
		return loader_error(l, dir, r, "cannot open directory: %s", strerror(-r));
	}
	if (fstat(dirfd(d), &st) < 0) {
		r = negative_errno();
		return loader_error(l, dir, r, "cannot stat: %s", strerror(-r));
	}
	r = stat_check(l, dir, &st);
	if (r < 0)
		return r;

	/* Room for every name we accept, and the NULL. */
	names = calloc(POLICY_DROPINS_MAX + 1, sizeof(char *));
	if (!names)
		return policy_parser_oom(l->parser);
	for (;;) {
		struct dirent *de;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno != 0) {
				r = negative_errno();
				return loader_error(l, dir, r, "cannot read directory: %s",
						    strerror(-r));
			}
			break;
		}
		if (!is_dropin_name(de->d_name))
			continue;
		if (n >= POLICY_DROPINS_MAX)
			return loader_error(l, dir, -EINVAL, "more than %u *.conf files",
					    POLICY_DROPINS_MAX);
		names[n] = strdup(de->d_name);
		if (!names[n])
			return policy_parser_oom(l->parser);
		names[++n] = NULL;
	}
	if (n == 0)
		return 0;
	qsort(names, n, sizeof(char *), strcmp_ptr);

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = NULL;
		size_t len = strlen(dir);

		if (asprintf(&path, "%s%s%s", dir, len > 0 && dir[len - 1] == '/' ? "" : "/",
			     names[i]) < 0)
			return policy_parser_oom(l->parser);
		r = loader_load_file(l, dirfd(d), names[i], path);
		if (r < 0)
			return r;
	}
	return 0;
}

int policy_load_full(const char *config_path, const char *dropin_dir, uid_t owner_uid, Policy **ret,
		     char **ret_error)
{
	Loader l = {.owner_uid = owner_uid};
	int r;

	if (!ret)
		return -EINVAL;
	r = policy_parser_new(&l.parser);
	if (r < 0)
		return r;
	if (config_path)
		r = loader_load_file(&l, AT_FDCWD, config_path, config_path);
	if (r >= 0 && dropin_dir)
		(void)loader_load_dir(&l, dropin_dir);
	return policy_parser_finish(l.parser, ret, ret_error);
}

int policy_load(const char *config_path, const char *dropin_dir, Policy **ret, char **ret_error)
{
	return policy_load_full(config_path, dropin_dir, 0, ret, ret_error);
}

int policy_load_string(const char *text, const char *origin, Policy **ret, char **ret_error)
{
	PolicyParser *p;
	int r;

	if (!text || !ret)
		return -EINVAL;
	r = policy_parser_new(&p);
	if (r < 0)
		return r;
	(void)policy_parser_feed(p, origin ?: "(string)", text, strlen(text));
	return policy_parser_finish(p, ret, ret_error);
}

int policy_dropin_dir_for(const char *config_path, char **ret)
{
	_cleanup_free_ char *copy = strdup(config_path);

	if (!copy)
		return -ENOMEM;
	return asprintf(ret, "%s/policy.d", dirname(copy)) < 0 ? -ENOMEM : 0;
}
