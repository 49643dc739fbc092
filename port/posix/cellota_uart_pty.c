/*
 * The Quectel driver's UART on a tty (raw, non-blocking), and its control
 * pins as signals to the module simulator (see cellota_uart.h).
 */
#include "cellota_posix/cellota_uart.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/types.h>
#include <termios.h>
#include <unistd.h>

/* ---- UART ------------------------------------------------------------------------ */

/* What cfmakeraw() does, spelled out (cfmakeraw is not POSIX). */
static int tty_raw(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) != 0) {
        return -1;
    }
    t.c_iflag &=
        ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXOFF);
    t.c_oflag &= ~(tcflag_t)OPOST;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    t.c_cflag |= (tcflag_t)(CS8 | CREAD | CLOCAL);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (cfsetispeed(&t, B115200) != 0 || cfsetospeed(&t, B115200) != 0) {
        return -1;
    }
    return tcsetattr(fd, TCSANOW, &t);
}

int cellota_uart_pty_open(cellota_uart_pty_t *u, const char *path)
{
    if (u == NULL || path == NULL) {
        return CELLOTA_POSIX_EPARAM;
    }
    u->fd = -1;
    u->last_errno = 0;
    u->rx_bytes = 0u;
    u->tx_bytes = 0u;
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        u->last_errno = errno;
        return CELLOTA_POSIX_EIO;
    }
    if (tty_raw(fd) != 0) {
        u->last_errno = errno;
        (void)close(fd);
        return CELLOTA_POSIX_EIO;
    }
    u->fd = fd;
    return 0;
}

void cellota_uart_pty_close(cellota_uart_pty_t *u)
{
    if (u == NULL || u->fd < 0) {
        return;
    }
    (void)close(u->fd);
    u->fd = -1;
}

static bool would_block(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

static int uart_write(void *ctx, const uint8_t *data, size_t len)
{
    cellota_uart_pty_t *u = ctx;
    if (u == NULL || (data == NULL && len != 0u)) {
        return CELLOTA_POSIX_EPARAM;
    }
    if (u->fd < 0) {
        return CELLOTA_POSIX_ESTATE;
    }
    if (len == 0u) {
        return 0;
    }
    if (len > (size_t)INT_MAX) {
        len = (size_t)INT_MAX;
    }
    ssize_t w = write(u->fd, data, len);
    if (w < 0) {
        if (would_block(errno)) {
            return 0;
        }
        u->last_errno = errno;
        return CELLOTA_POSIX_EIO;
    }
    u->tx_bytes += (uint32_t)w;
    return (int)w;
}

static int uart_read(void *ctx, uint8_t *buf, size_t cap)
{
    cellota_uart_pty_t *u = ctx;
    if (u == NULL || (buf == NULL && cap != 0u)) {
        return CELLOTA_POSIX_EPARAM;
    }
    if (u->fd < 0) {
        return CELLOTA_POSIX_ESTATE;
    }
    if (cap == 0u) {
        return 0;
    }
    if (cap > (size_t)INT_MAX) {
        cap = (size_t)INT_MAX;
    }
    ssize_t r = read(u->fd, buf, cap);
    if (r < 0) {
        if (would_block(errno)) {
            return 0;
        }
        u->last_errno = errno; /* EIO: the simulator closed its side */
        return CELLOTA_POSIX_EIO;
    }
    u->rx_bytes += (uint32_t)r;
    return (int)r;
}

quectel_uart_t cellota_uart_pty_port(cellota_uart_pty_t *u)
{
    quectel_uart_t p;
    p.ctx = u;
    p.write = uart_write;
    p.read = uart_read;
    return p;
}

/* ---- control pins ------------------------------------------------------------------- */

static void pins_signal(cellota_modem_pins_t *p, int sig)
{
    if (p->sim_pid <= 0) {
        return;
    }
    if (kill((pid_t)p->sim_pid, sig) != 0) {
        p->last_errno = errno;
    }
}

static void pin_pwrkey(void *ctx, bool asserted)
{
    cellota_modem_pins_t *p = ctx;
    if (p == NULL) {
        return;
    }
    if (p->pwrkey && !asserted) {
        p->pwrkey_cycles++;
        pins_signal(p, SIGUSR1);
    }
    p->pwrkey = asserted;
}

static void pin_reset(void *ctx, bool asserted)
{
    cellota_modem_pins_t *p = ctx;
    if (p == NULL) {
        return;
    }
    if (p->reset && !asserted) {
        p->resets++;
        pins_signal(p, SIGUSR1);
    }
    p->reset = asserted;
}

static void pin_psm_eint(void *ctx, bool asserted)
{
    cellota_modem_pins_t *p = ctx;
    if (p == NULL) {
        return;
    }
    if (!p->psm_eint && asserted) {
        p->wakeups++;
        pins_signal(p, SIGUSR2);
    }
    p->psm_eint = asserted;
}

void cellota_modem_pins_init(cellota_modem_pins_t *p, long sim_pid)
{
    if (p == NULL) {
        return;
    }
    p->sim_pid = sim_pid;
    p->pwrkey = false;
    p->reset = false;
    p->psm_eint = false;
    p->pwrkey_cycles = 0u;
    p->resets = 0u;
    p->wakeups = 0u;
    p->last_errno = 0;
}

quectel_gpio_t cellota_modem_pins_port(cellota_modem_pins_t *p)
{
    quectel_gpio_t g;
    g.ctx = p;
    g.pwrkey = pin_pwrkey;
    g.reset = pin_reset;
    g.psm_eint = pin_psm_eint;
    return g;
}
