/* omvemu --host-fault KIND: races in the host's view of sysfs, made
 * deterministic by omvemu_host_fault_shim.so (see host_fault_shim.c). */
#ifndef OMVEMU_HOST_FAULTS_H
#define OMVEMU_HOST_FAULTS_H

/* Comma-separated kinds for the shim in COMMAND's environment. */
#define OMVEMU_HOST_FAULTS_ENV "OMVEMU_HOST_FAULTS"
/* Every kind the shim knows, for omvemu's option check and --help. */
#define OMVEMU_HOST_FAULT_KINDS "list-race serial-unreadable no-access"

#endif
