/* tokens.c: the tokens a ceremony touches (see tokens.h). */
#include "ceremony/tokens.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hsm/hsm_pin.h"
#include "util/buf.h"
#include "util/fileio.h"

extern char **environ;

static int
is_source_spec(const char *s)
{
	return strcmp(s, "prompt") == 0 || strncmp(s, "fd:", 3) == 0 ||
	    strncmp(s, "file:", 5) == 0;
}

const char *
tokens_pin_source(const struct tokens *t, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < t->n_pins; i++) {
		const char *p = t->pins[i];

		if (strncmp(p, name, n) == 0 && p[n] == '=')
			return p + n + 1;
	}
	if (t->default_label != NULL && strcmp(name, t->default_label) == 0)
		for (i = 0; i < t->n_pins; i++)
			if (is_source_spec(t->pins[i]))
				return t->pins[i];
	return "prompt";
}

/* Rehearsal: runs softhsm2-util quietly; its PINs are throwaway. */
static int
run_quiet(char *const argv[], err_t *err)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status, r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return err_set(err, ERR_IO, "cannot run %s: %s (install the "
		    "softhsm2 package for rehearsals)", argv[0], strerror(r));
	while (waitpid(pid, &status, 0) < 0)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return err_set(err, ERR_HSM, "%s failed while preparing the "
		    "rehearsal token", argv[0]);
	return 0;
}

const char *
tokens_rehearse_pinfile(struct tokens *t, const char *label, char *out,
    size_t outsz)
{
	char hex[2 * 33 + 1];

	if (!t->rehearse)
		return NULL;
	/* Hex of the label: a safe file name for any label. */
	buf_hex((const unsigned char *)label, strnlen(label, 32), hex,
	    sizeof(hex));
	snprintf(out, outsz, "%s/pin-%s", t->rehearse_dir, hex);
	return out;
}

static int
rehearse_create_token(struct tokens *t, const char *label, err_t *err)
{
	unsigned char rnd[12];
	char pin[25], sopin[25], pinfile[4200];
	char *argv[] = { "softhsm2-util", "--init-token", "--free", "--label",
	    (char *)(uintptr_t)label, "--so-pin", sopin, "--pin", pin, NULL };
	int r;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return err_set_ossl(err, ERR_CRYPTO, "random PIN");
	buf_hex(rnd, sizeof(rnd), pin, sizeof(pin));
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return err_set_ossl(err, ERR_CRYPTO, "random PIN");
	buf_hex(rnd, sizeof(rnd), sopin, sizeof(sopin));
	tokens_rehearse_pinfile(t, label, pinfile, sizeof(pinfile));
	if ((r = fileio_create(pinfile, pin, strlen(pin), 0600, err)) != 0)
		goto out;
	r = run_quiet(argv, err);
out:
	explicit_bzero(pin, sizeof(pin));
	explicit_bzero(sopin, sizeof(sopin));
	return r;
}

int
tokens_init(struct tokens *t, const char *module, const char *const *pins,
    size_t n_pins, const char *default_label, int rehearse, err_t *err)
{
	char conf[4200], body[4400], tokdir[4200];
	const char *tmp = getenv("TMPDIR");
	size_t i;

	memset(t, 0, sizeof(*t));
	/*
	 * A --pin value must say where the PIN comes from, never be the PIN:
	 * refuse anything else without repeating it (it may be a real PIN).
	 */
	for (i = 0; i < n_pins; i++) {
		const char *eq = strchr(pins[i], '=');

		if (!is_source_spec(pins[i]) && (eq == NULL || eq == pins[i] ||
		    !is_source_spec(eq + 1)))
			return err_set(err, ERR_INVALID, "--pin number %zu is "
			    "neither SOURCE nor NAME=SOURCE, where SOURCE is "
			    "prompt, fd:N or file:PATH; a PIN itself never goes "
			    "on the command line", i + 1);
	}
	t->module = module;
	t->pins = pins;
	t->n_pins = n_pins;
	t->default_label = default_label;
	if (!rehearse)
		return 0;
	t->rehearse = 1;
	t->module = TOKENS_SOFTHSM_MODULE;
	snprintf(t->rehearse_dir, sizeof(t->rehearse_dir),
	    "%s/airlock-rehearsal.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(t->rehearse_dir) == NULL)
		return err_set(err, ERR_IO, "cannot create a rehearsal "
		    "directory: %s", strerror(errno));
	snprintf(tokdir, sizeof(tokdir), "%s/tokens", t->rehearse_dir);
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", t->rehearse_dir);
	snprintf(body, sizeof(body), "directories.tokendir = %s\n"
	    "objectstore.backend = file\nlog.level = ERROR\n", tokdir);
	if (mkdir(tokdir, 0700) != 0)
		return err_set(err, ERR_IO, "mkdir %s: %s", tokdir,
		    strerror(errno));
	if (fileio_create(conf, body, strlen(body), 0600, err) != 0)
		return err->code;
	/*
	 * The HSM helper inherits our environment; pointing SoftHSM at the
	 * throwaway tree is what keeps a rehearsal away from real tokens.
	 */
	if (setenv("SOFTHSM2_CONF", conf, 1) != 0)
		return err_set(err, ERR_IO, "setenv: %s", strerror(errno));
	return 0;
}

int
tokens_get(struct tokens *t, const char *label, const char *serial,
    int login, struct hsm_pool **out, err_t *err)
{
	struct tokens_entry *e = NULL;
	struct hsm_uri uri;
	secret_t *pin = NULL;
	const char *name = label && *label ? label : serial;
	char what[160], pinfile[4200], spec[4210];
	size_t i;
	int r;

	if (name == NULL || *name == '\0')
		return err_set(err, ERR_INVALID, "a token needs a label or a "
		    "serial");
	for (i = 0; i < t->n; i++) {
		if ((label && *label && strcmp(t->t[i].label, label) == 0) ||
		    (serial && *serial && strcmp(t->t[i].serial, serial) == 0)) {
			e = &t->t[i];
			break;
		}
	}
	if (e != NULL && (e->logged_in || !login)) {
		*out = e->pool;
		return 0;
	}
	if (e != NULL) {
		/* Reopen with a login: a pool logs in when it is opened. */
		hsm_pool_close(e->pool);
		e->pool = NULL;
	} else {
		if (t->n == TOKENS_MAX)
			return err_set(err, ERR_LIMIT, "a ceremony may use at "
			    "most %d tokens", TOKENS_MAX);
		e = &t->t[t->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->label, sizeof(e->label), "%s", label ? label : "");
		snprintf(e->serial, sizeof(e->serial), "%s",
		    serial ? serial : "");
		if (t->rehearse && (r = rehearse_create_token(t, name, err)) != 0) {
			t->n--;
			return r;
		}
	}
	hsm_uri_init(&uri);
	snprintf(uri.token, sizeof(uri.token), "%s", e->label);
	snprintf(uri.serial, sizeof(uri.serial), "%s", e->serial);
	if (login) {
		const char *src = tokens_pin_source(t, name);

		if (t->rehearse) {
			tokens_rehearse_pinfile(t, name, pinfile, sizeof(pinfile));
			snprintf(spec, sizeof(spec), "file:%s", pinfile);
			src = spec;
		}
		if ((r = secret_new(&pin)) != 0)
			return err_set(err, r, "cannot allocate locked memory "
			    "for a PIN");
		snprintf(what, sizeof(what), "user PIN for token '%s'", name);
		if ((r = hsm_pin_read(src, what, pin, err)) != 0)
			goto out;
	}
	r = hsm_pool_open(t->module, &uri, 1, pin, &e->pool, err);
	if (r == 0) {
		e->logged_in = login;
		*out = e->pool;
	}
out:
	secret_free(pin);
	return r;
}

static void
remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char sub[4200];
	struct stat st;

	if (d == NULL) {
		unlink(path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(sub);
		else
			unlink(sub);
	}
	closedir(d);
	rmdir(path);
}

void
tokens_close(struct tokens *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		hsm_pool_close(t->t[i].pool);
	t->n = 0;
	if (t->rehearse && t->rehearse_dir[0] != '\0') {
		remove_tree(t->rehearse_dir);
		t->rehearse_dir[0] = '\0';
	}
}
