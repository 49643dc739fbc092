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
	src/ota_tb.c \
	src/ota_journal.c \
	src/ota_client.c
