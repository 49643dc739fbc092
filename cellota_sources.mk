# cellota core: the plain source list for vendors who build with Make or an IDE.
#   include $(CELLOTA_DIR)/cellota_sources.mk
#   SRCS     += $(addprefix $(CELLOTA_DIR)/,$(CELLOTA_CORE_SRCS))
#   CFLAGS   += -I$(CELLOTA_DIR)/include
# CMake reads this same file, so the list is kept in one place only.
CELLOTA_CORE_SRCS := \
	src/ota_status.c \
	src/ota_crc32.c \
	src/ota_sha256.c \
	src/ota_json.c \
	src/ota_fmt.c \
	src/ota_package.c \
	src/ota_bootreq.c \
	src/ota_settings.c \
	src/ota_at.c \
	src/ota_tb.c \
	src/ota_journal.c \
	src/ota_client.c

# Quectel BG95/BC660K driver (AT engine + both dialects): a separate list,
# for firmware that talks MQTT through the module's built-in client.
#   SRCS     += $(addprefix $(CELLOTA_DIR)/,$(CELLOTA_QUECTEL_SRCS))
CELLOTA_QUECTEL_SRCS := \
	src/modem/at_engine.c \
	src/modem/quectel.c

# Boot core (journaled install, trial boot, rollback): a separate list, for
# the bootloader image; it also needs src/ota_crc32.c and src/ota_bootreq.c
# from the core list. The application links it too, for ota_boot_confirm()
# and ota_boot_result().
#   SRCS     += $(addprefix $(CELLOTA_DIR)/,$(CELLOTA_BOOT_SRCS))
CELLOTA_BOOT_SRCS := \
	src/boot/ota_boot.c
